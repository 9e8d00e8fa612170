"""Per-user Sieve scripts (migration 0006) and vacation's loop and duplicate rules."""

from __future__ import annotations

import datetime as dt
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

import pytest

from mailrs.db.engine import Database
from mailrs.db.migrate import upgrade
from mailrs.sieve import storage
from mailrs.sieve.actions import Vacation
from mailrs.sieve.vacation import build_reply, claim_reply, may_answer

USER = "bob@example.com"


@pytest.fixture
def db(tmp_path: Path) -> Database:
    url = f"sqlite:///{tmp_path / 'sieve.db'}"
    upgrade(url)
    return Database(url)


def test_scripts_lifecycle(db: Database) -> None:
    """Put, list, activate (one at a time), rename, refuse deleting the active one."""
    with db.session() as session:
        storage.put_script(session, USER, "main", 'require "fileinto"; fileinto "A";')
        storage.put_script(session, USER, "other", "keep;")
        session.commit()
        assert storage.active_script(session, USER) is None
        storage.set_active(session, USER, "main")
        storage.set_active(session, USER, "other")
        session.commit()
        assert storage.list_scripts(session, USER) == [("main", False), ("other", True)]
        assert storage.active_script(session, "BOB@example.com") == "keep;"
        storage.rename_script(session, USER, "other", "renamed")
        with pytest.raises(storage.ScriptError) as refused:
            storage.delete_script(session, USER, "renamed")
        assert refused.value.code == "ACTIVE"
        with pytest.raises(storage.ScriptError) as exists:
            storage.rename_script(session, USER, "main", "renamed")
        assert exists.value.code == "ALREADYEXISTS"
        storage.delete_script(session, USER, "main")
        session.commit()
        assert storage.list_scripts(session, USER) == [("renamed", True)]
        with pytest.raises(storage.ScriptError) as missing:
            storage.get_script(session, USER, "main")
        assert missing.value.code == "NONEXISTENT"


def test_invalid_script_is_refused(db: Database) -> None:
    """PUTSCRIPT semantics: a script that does not parse is not stored."""
    with db.session() as session:
        with pytest.raises(storage.ScriptError, match="script error"):
            storage.put_script(session, USER, "bad", "fileinto 'x'")
        assert storage.list_scripts(session, USER) == []


def _message(headers: str) -> EmailMessage:
    data = (headers + "Subject: hello\r\nMessage-ID: <m1@example.org>\r\n\r\nbody\r\n").encode()
    message = message_from_bytes(data, policy=default_policy)
    assert isinstance(message, EmailMessage)
    return message


@pytest.mark.parametrize(
    ("headers", "sender", "answered"),
    [
        ("To: bob@example.com\r\n", "alice@example.org", True),
        ("To: bob@example.com\r\n", "", False),  # <>
        ("To: bob@example.com\r\nList-Id: <dev.example.org>\r\n", "alice@example.org", False),
        ("To: bob@example.com\r\nPrecedence: bulk\r\n", "alice@example.org", False),
        ("To: bob@example.com\r\nAuto-Submitted: auto-replied\r\n", "alice@example.org", False),
        ("To: bob@example.com\r\n", "owner-dev@example.org", False),
        ("To: bob@example.com\r\n", "MAILER-DAEMON@example.org", False),
        ("To: someone@else.example\r\n", "alice@example.org", False),  # not addressed to us
    ],
)
def test_vacation_never_answers_lists_bulk_or_null(
    headers: str, sender: str, answered: bool
) -> None:
    """RFC 5230 sections 4.5 and 4.6."""
    assert may_answer(_message(headers), sender, {USER}) is answered


def test_vacation_answers_once_per_days(db: Database) -> None:
    """Duplicate tracking per sender: once within :days, again after."""
    action = Vacation(reason="away", days=2)
    start = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    with db.session() as session:
        assert claim_reply(session, USER, "alice@example.org", action, start)
        session.commit()
        assert not claim_reply(session, USER, "Alice@example.org", action, start)
        assert claim_reply(session, USER, "carol@example.org", action, start)
        later = start + dt.timedelta(days=2, minutes=1)
        assert claim_reply(session, USER, "alice@example.org", action, later)


def test_vacation_reply_headers() -> None:
    """The reply is auto-submitted and threads with the original."""
    reply = build_reply(
        _message("To: bob@example.com\r\n"),
        USER,
        "alice@example.org",
        Vacation(reason="I am away.", subject=""),
        "mx.example.com",
    )
    parsed = message_from_bytes(reply, policy=default_policy)
    assert parsed["Auto-Submitted"] == "auto-replied (vacation)"
    assert parsed["In-Reply-To"] == "<m1@example.org>"
    assert parsed["Subject"] == "Auto: hello"
    assert parsed["To"] == "alice@example.org"
    assert "I am away." in reply.decode()
