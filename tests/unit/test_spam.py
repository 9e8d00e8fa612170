"""The spam hook: entry points, the built-in heuristics, and rspamd over HTTP (real rspamd)."""

from __future__ import annotations

import dataclasses
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import free_port, require_tool
from dns_support import DnsServer
from processes import Proc, wait_until

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


def test_rspamd_down_is_an_error_not_a_verdict(settings: Settings) -> None:
    scorer = RspamdFilter(with_spam(settings, rspamd_url=f"http://127.0.0.1:{free_port()}"))
    with pytest.raises(RspamdError):
        scorer.check(HAM, ENVELOPE)


RSPAMD_CONF = """\
.include "$CONFDIR/common.conf"
options {{
    pidfile = "$RUNDIR/rspamd.pid";
    .include "$CONFDIR/options.inc"
    dns {{ nameserver = ["{dns}"]; timeout = 0.5s; retransmits = 1; }}
}}
logging {{ type = "console"; level = "error"; }}
worker "normal" {{
    bind_socket = "127.0.0.1:{port}";
    .include "$CONFDIR/worker-normal.inc"
    count = 1;
}}
"""


def _pong(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=1) as response:
            return response.read().strip() == b"pong"
    except OSError:
        return False


@pytest.fixture(scope="module")
def rspamd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real rspamd (Debian's) with Debian's rules, on a free loopback port, its own dirs."""
    binary = require_tool("rspamd")
    folder: Path = tmp_path_factory.mktemp("rspamd")
    port = free_port()
    with DnsServer([]) as dns:  # every lookup answers NXDOMAIN at once: no real DNS
        (folder / "rspamd.conf").write_text(RSPAMD_CONF.format(port=port, dns=dns.address))
        argv = [binary, "-f", "-i", "-c", str(folder / "rspamd.conf")]
        for var in ("LOCAL_CONFDIR", "DBDIR", "RUNDIR", "LOGDIR"):
            argv += ["--var", f"{var}={folder}"]
        argv += ["--var", "CONFDIR=/etc/rspamd"]
        proc = Proc(argv)
        try:
            assert wait_until(lambda: _pong(port) or proc.popen.poll() is not None, 90)
            assert proc.popen.poll() is None, proc.output
            yield f"http://127.0.0.1:{port}"
        finally:
            proc.stop()


@pytest.mark.slow
def test_rspamd_adapter_against_real_rspamd(settings: Settings, rspamd: str) -> None:
    scorer = load_filter(with_spam(settings, filter="rspamd", rspamd_url=rspamd))
    ham = scorer.check(HAM, ENVELOPE)
    spam = scorer.check(SPAM, ENVELOPE)
    assert spam.score > ham.score
    assert "MISSING_DATE" in spam.symbols and "MISSING_DATE" not in ham.symbols
    assert spam.action in ("no action", "greylist", "add header", "rewrite subject", "reject")


@pytest.mark.slow
def test_rspamd_in_the_pipeline_files_spam_into_junk(
    settings: Settings, database: object, store: object, rspamd: str, tmp_path: Path
) -> None:
    from pipeline_support import drive
    from sqlalchemy import select

    from mailrs.accounts.users import add_user
    from mailrs.celery import configure
    from mailrs.db.engine import Database
    from mailrs.db.models import Message
    from mailrs.queue.accept import Envelope, accept_message
    from mailrs.queue.spool import Spool
    from mailrs.store.maildir import MaildirStore

    assert isinstance(database, Database) and isinstance(store, MaildirStore)
    configure(with_spam(settings, filter="rspamd", rspamd_url=rspamd, threshold=6.0))
    with database.session() as session:
        add_user(session, store, "alice@example.test", "alice password")
    spool = Spool(settings.spool_path)
    spool.ensure()
    envelope = Envelope("win@spam.test", ("alice@example.test",), "192.0.2.9", "spam.test")
    queue_id = accept_message(database, spool, envelope, SPAM)
    drive(queue_id)
    with database.session() as session:
        message = session.scalar(select(Message).where(Message.queue_id == queue_id))
        assert message is not None and message.spam_verdict in ("spam", "ham")
        verdict, score = message.spam_verdict, message.spam_score
    folder = "Junk" if verdict == "spam" else "INBOX"
    (copy,) = store.list_messages("alice@example.test", folder)
    data = store.read("alice@example.test", folder, copy.key)
    assert f"X-Spam-Score: {score:.1f}".encode() in data
    assert verdict == "spam", f"rspamd scored the spam sample {score}"


def test_a_failing_scorer_never_drops_the_message(
    settings: Settings, database: object, store: object
) -> None:
    from pipeline_support import drive
    from sqlalchemy import select

    from mailrs.accounts.users import add_user
    from mailrs.celery import configure
    from mailrs.db.engine import Database
    from mailrs.db.models import Message
    from mailrs.queue.accept import Envelope, accept_message
    from mailrs.queue.spool import Spool
    from mailrs.store.maildir import MaildirStore

    assert isinstance(database, Database) and isinstance(store, MaildirStore)
    down = f"http://127.0.0.1:{free_port()}"
    configure(with_spam(settings, filter="rspamd", rspamd_url=down, timeout_secs=2.0))
    with database.session() as session:
        add_user(session, store, "alice@example.test", "alice password")
    spool = Spool(settings.spool_path)
    spool.ensure()
    queue_id = accept_message(
        database, spool, Envelope("b@remote.test", ("alice@example.test",)), HAM
    )
    drive(queue_id)
    (copy,) = store.list_messages("alice@example.test")
    assert b"X-Spam-Status: Unknown (RspamdError)" in store.read(
        "alice@example.test", "INBOX", copy.key
    )
    with database.session() as session:
        message = session.scalar(select(Message).where(Message.queue_id == queue_id))
        assert message is not None and message.spam_verdict == "unchecked"
        assert message.state == "delivered"
