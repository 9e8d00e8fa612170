"""The spam hook: entry points, the built-in heuristics, and rspamd over HTTP (real rspamd)."""

from __future__ import annotations

import dataclasses
import re

import pytest

from mailrs.config import Settings
from mailrs.errors import ConfigError
from mailrs.inbound.spam import SpamEnvelope, SpamResult, is_spam, load_filter, spam_headers
from mailrs.inbound.spam.heuristics import HeuristicFilter
from mailrs.inbound.spam.rspamd import RspamdError, RspamdFilter, parse_reply

ENVELOPE = SpamEnvelope("1K10SHCVX7WW8578X0", "bob@remote.test", ("alice@example.test",))
HAM = (
    b"From: Bob <bob@remote.test>\r\nTo: alice@example.test\r\nSubject: lunch tomorrow?\r\n"
    b"Date: Tue, 24 Nov 2026 10:00:00 +0000\r\nMessage-ID: <ham@remote.test>\r\n\r\nnoon?\r\n"
)
SPAM = (
    b'From: "service@paypal.test" <win@spam.test>\r\nSubject: URGENT WINNER CLAIM NOW!!!\r\n'
    b"Content-Type: text/html\r\n\r\n<b>click here</b>\r\n"
)


def with_spam(settings: Settings, **keys: object) -> Settings:
    return dataclasses.replace(settings, spam=dataclasses.replace(settings.spam, **keys))


def test_filters_come_from_entry_points(settings: Settings) -> None:
    assert isinstance(load_filter(settings), HeuristicFilter)  # the default
    assert isinstance(load_filter(with_spam(settings, filter="rspamd")), RspamdFilter)
    assert load_filter(with_spam(settings, filter="none")).check(SPAM, ENVELOPE).score == 0
    with pytest.raises(ConfigError, match="no filter named 'nope'.*builtin"):
        load_filter(with_spam(settings, filter="nope"))


def test_builtin_scores_ham_low_and_spam_high(settings: Settings) -> None:
    scorer = HeuristicFilter(settings)
    ham = scorer.check(HAM, ENVELOPE)
    assert ham.score < 1 and not is_spam(settings, ham)
    spam = scorer.check(SPAM, ENVELOPE)
    assert is_spam(settings, spam)
    for rule in (
        "SUBJ_ALL_CAPS",
        "SUBJ_SPAM_WORDS",
        "FROM_NAME_SPOOF",
        "HTML_ONLY",
        "MISSING_DATE",
    ):
        assert rule in spam.symbols


def test_builtin_reads_authentication_results(settings: Settings) -> None:
    scorer = HeuristicFilter(settings)
    ours = settings.smtp.hostname.encode()
    passed = b"Authentication-Results: " + ours + b"; spf=pass; dkim=pass; dmarc=pass\r\n" + HAM
    failed = b"Authentication-Results: " + ours + b"; spf=fail; dkim=fail; dmarc=fail\r\n" + HAM
    forged = b"Authentication-Results: evil.test; dkim=pass; dmarc=pass\r\n" + HAM
    assert scorer.check(passed, ENVELOPE).score < scorer.check(HAM, ENVELOPE).score
    assert is_spam(settings, scorer.check(failed, ENVELOPE))
    assert "DMARC_PASS" not in scorer.check(forged, ENVELOPE).symbols  # only ours is trusted


def test_builtin_survives_broken_headers(settings: Settings) -> None:
    scorer = HeuristicFilter(settings)
    for data in (
        b"",
        b"\xff\xfe\r\n\r\n",
        b"Subject: =?utf-8?q?=ff?=\r\nFrom: <<<\r\n\r\nx",
        b"a" * 5000,
    ):
        assert isinstance(scorer.check(data, ENVELOPE), SpamResult)


def test_headers_by_threshold(settings: Settings) -> None:
    low = spam_headers(settings, SpamResult(1.25, ("A", "B")))
    assert low.startswith("X-Spam-Status: No, score=1.2 required=5.0\r\n\ttests=A,B\r\n")
    assert "X-Spam-Score: 1.2\r\n" in low
    high = spam_headers(with_spam(settings, threshold=1.0), SpamResult(1.25))
    assert high.startswith("X-Spam-Status: Yes") and "X-Spam-Flag: YES" in high


def test_rspamd_reply_parsing() -> None:
    reply = (
        b'{"score": 7.5, "action": "add header", "symbols": {"A": {"score": 1}, "B": {"score": 5}}}'
    )
    assert parse_reply(reply) == SpamResult(7.5, ("B", "A"), "add header")
    for bad in (b"", b"[]", b'{"score": "x"}', b"<html>"):
        with pytest.raises(RspamdError):
            parse_reply(bad)


@pytest.mark.parametrize(
    "fields",
    [
        b"From: bob@remote.test\r\nTo: alice@example.test\r\n",
        b"From: <bob@remote.test>\r\nTo: <a@x.test>, Carol Doe <c@x.test>\r\n",
        b"From: Bob Smith <bob@remote.test>\r\nCc: c@x.test\r\nSubject: hi\r\n",
        b'From: "pay@pal.test" <win@spam.test>\r\nTo: (nobody)\r\n',
        b"From: =?utf-8?q?pay=40pal=2Etest?= <win@spam.test>\r\nTo: undisclosed:;\r\n",
        b"From: pay@pal.test <win@spam.test>\r\nTo: a..b@x.test\r\n",
        b"From: <<<\r\nTo: ,\r\nCc: <>\r\n",
        b"Date: Tue, 24 Nov 2026 10:00:00 +0000\r\nMessage-ID: <ham@remote.test>\r\n",
        b"Date: 24 Nov 2026 10:00 -0500 (EST)\r\nMessage-ID: <a.b+c=d@remote.test>\r\n",
        b"Date: Mon,  7 Dec 2026 23:54:15 +0000 (UTC)\r\nMessage-Id: <3ea3.0003.0000@vm>\r\n",
        b"Date: Tue, 31 Feb 2026 99:99:99 +0000\r\nMessage-ID: <no-at-sign>\r\n",
        b"Date: \r\nMessage-ID: \r\nTo:  \r\nFrom: \r\n",
        b"Date: yesterday\r\nMessage-ID: <a@b> <c@d>\r\nTo: a@x.test,\r\n b@x.test\r\n",
    ],
)
def test_plain_fields_score_as_their_parse(
    settings: Settings, fields: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The shortcut for plainly valid fields gives the verdicts of the full parse."""
    from mailrs.inbound.spam import heuristics

    data = fields + b"\r\nbody\r\n"
    quick = HeuristicFilter(settings).check(data, ENVELOPE)
    never = re.compile(r"(?!)")
    monkeypatch.setattr(heuristics, "_PLAIN", dict.fromkeys(heuristics._PLAIN, never))
    assert HeuristicFilter(settings).check(data, ENVELOPE) == quick
