"""The per-user Bayesian classifier: learning, scoring, learning from moves, the CLI."""

from __future__ import annotations

import random
from pathlib import Path

from click.testing import CliRunner

from mailrs.cli.main import cli
from mailrs.config import Settings
from mailrs.inbound.spam import SpamEnvelope
from mailrs.inbound.spam.bayes import Classifier, classifier_path
from mailrs.inbound.spam.bayes_rules import rule_for
from mailrs.inbound.spam.heuristics import HeuristicFilter
from mailrs.inbound.spam.tokens import tokenize
from mailrs.store.mailbox import MailboxService
from mailrs.store.maildir import MaildirStore

USER = "alice@example.test"
HAM_WORDS = [
    "meeting",
    "agenda",
    "quarterly",
    "review",
    "notes",
    "project",
    "schedule",
    "budget",
    "draft",
    "report",
    "team",
    "lunch",
    "thursday",
    "minutes",
    "release",
    "planning",
    "design",
    "document",
    "feedback",
    "deadline",
]
SPAM_WORDS = [
    "winner",
    "prize",
    "claim",
    "free",
    "offer",
    "cheap",
    "pills",
    "casino",
    "bonus",
    "credit",
    "urgent",
    "unsubscribe",
    "guaranteed",
    "discount",
    "millions",
    "inheritance",
    "lottery",
    "exclusive",
]


def mail(n: int, words: list[str], sender: str, subject: str) -> bytes:
    rng = random.Random(n)
    body = " ".join(rng.choice(words) for _ in range(60))
    return (
        f"From: <{sender}>\r\nTo: {USER}\r\nSubject: {subject} {n}\r\n"
        f"Message-ID: <{n}.{subject.replace(' ', '')}@{sender.split('@')[1]}>\r\n\r\n{body}\r\n"
    ).encode()


def ham(n: int) -> bytes:
    return mail(n, HAM_WORDS, "bob@work.test", "project notes")


def spam(n: int) -> bytes:
    return mail(n, SPAM_WORDS, "promo@deals.test", "claim your prize")


def test_tokens_come_from_headers_and_decoded_body() -> None:
    data = (
        b"From: Promo <promo@deals.test>\r\nSubject: Cheap pills\r\nContent-Type: text/html;"
        b" charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        b"PHA+VmlzaXQgPGEgaHJlZj0iaHR0cDovL3NwYW0uZXhhbXBsZS9nbyI+bm93PC9hPjwvcD4=\r\n"
    )
    tokens = tokenize(data)
    assert {"subject:cheap", "subject:pills", "from:deals.test"} <= tokens
    assert {"visit", "url:spam.example", "content-type:text/html"} <= tokens
    assert "href" not in tokens  # tags are dropped


def test_learns_both_classes_and_tells_them_apart(tmp_path: Path) -> None:
    with Classifier(tmp_path / "b.sqlite") as classifier:
        assert classifier.spam_probability(spam(1)) is None  # nothing learnt yet
        for n in range(20):
            assert classifier.learn(spam(n), True)
            assert classifier.learn(ham(n), False)
        assert not classifier.learn(spam(0), True)  # once per message
        assert classifier.totals() == (20, 20)
        assert classifier.spam_probability(spam(100)) > 0.95  # type: ignore[operator]
        assert classifier.spam_probability(ham(100)) < 0.05  # type: ignore[operator]
        assert classifier.learn(spam(0), False)  # the user changed their mind: it moves over
        assert classifier.totals() == (19, 21)
        empty = classifier.spam_probability(b"\r\n")
        assert empty == 0.5  # no clue either way


def test_moves_into_and_out_of_junk_teach_the_users_classifier(settings: Settings) -> None:
    store = MaildirStore(settings.maildir_path)
    store.create_user(USER)
    with MailboxService(store, USER) as box:
        for n in range(6):
            box.deliver(spam(n), "INBOX", key=f"s{n}")
            box.deliver(ham(n), "Junk", key=f"h{n}")
        inbox = {m.uid for m in box.messages("INBOX")}
        junk = {m.uid for m in box.messages("Junk")}
        box.move("INBOX", inbox, "Junk")  # the user says: spam
        box.move("Junk", junk, "Archive" if box.exists("Archive") else "INBOX")  # ham
        trash = {m.uid for m in box.messages("Junk")}
        box.move("Junk", list(trash)[:2], "Trash")  # deleting spam teaches nothing new
    with Classifier(classifier_path(store.user_dir(USER))) as classifier:
        assert classifier.totals() == (6, 6)
    score = HeuristicFilter(settings).check(spam(50), SpamEnvelope("q", "x@y.test", (USER,)))
    assert "BAYES_99" in score.symbols and score.score >= settings.spam.threshold
    clean = HeuristicFilter(settings).check(ham(50), SpamEnvelope("q", "x@y.test", (USER,)))
    assert "BAYES_05" in clean.symbols
    other = HeuristicFilter(settings).check(spam(50), SpamEnvelope("q", "x@y.test", ("z@a.test",)))
    assert not any(s.startswith("BAYES") for s in other.symbols)  # nobody trained


def test_rules_by_probability() -> None:
    assert rule_for(0.995) == ("BAYES_99", 5.0)
    assert rule_for(0.5) is None
    assert rule_for(0.001) == ("BAYES_05", -2.5)


def test_cli_trains_from_a_folder_an_mbox_and_refuses_unknown_users(
    config_path: Path, settings: Settings, tmp_path: Path
) -> None:
    MaildirStore(settings.maildir_path).create_user(USER)
    spam_dir = tmp_path / "spam"
    spam_dir.mkdir()
    for n in range(3):
        (spam_dir / f"{n}.eml").write_bytes(spam(n))
    mbox = tmp_path / "ham.mbox"
    mbox.write_bytes(
        b"".join(
            b"From bob@work.test Sat Jan  3 01:05:34 2026\n"
            + ham(n).replace(b"\r\n", b"\n")
            + b"\n"
            for n in range(4)
        )
    )
    runner = CliRunner()
    args = ["spam", "train", "--config", str(config_path), "--user", USER]
    result = runner.invoke(cli, [*args, "--spam", str(spam_dir), "--ham", str(mbox)])
    assert result.exit_code == 0, result.output
    assert "learnt 3 spam and 4 ham" in result.output
    again = runner.invoke(cli, [*args, "--spam", str(spam_dir)])
    assert "learnt 0 spam" in again.output and "knows 3 spam and 4 ham" in again.output
    nobody = ["spam", "train", "--config", str(config_path), "--user", "zed@example.test"]
    missing = runner.invoke(cli, [*nobody, "--spam", str(spam_dir)])
    assert missing.exit_code != 0 and "no mailbox" in missing.output
