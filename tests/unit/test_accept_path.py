"""Every message row is born through ``mailrs.queue.accept``: SMTP, web, bench and DSNs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import func, select
from support.pipeline import drive

from mailrs.accounts.users import add_user
from mailrs.celery import configure
from mailrs.config import Settings
from mailrs.db.engine import Database
from mailrs.db.models import Message
from mailrs.queue.accept import Envelope, accept_derived, accept_message, record_messages
from mailrs.queue.spool import Spool, derived_queue_id, is_queue_id, new_queue_id
from mailrs.queue.states import MessageState, RecipientState
from mailrs.store.maildir import MaildirStore

ENVELOPE = Envelope("", ("alice@example.test",), "127.0.0.1", "mx.example.test", None, "mx")


@pytest.fixture
def spool(settings: Settings) -> Spool:
    spool = Spool(settings.spool_path)
    spool.ensure()
    return spool


def load(database: Database, queue_id: str) -> Message:
    with database.session() as session:
        message = session.scalar(select(Message).where(Message.queue_id == queue_id))
        assert message is not None
        assert message.recipients and message.events
        return message


def count(database: Database) -> int:
    with database.session() as session:
        return int(session.scalar(select(func.count()).select_from(Message)) or 0)


def test_derived_queue_ids_are_fixed_and_valid() -> None:
    original = new_queue_id()
    first = derived_queue_id(original, "F1,2")
    assert is_queue_id(first) and first == derived_queue_id(original, "F1,2")
    assert first != derived_queue_id(original, "W") != derived_queue_id(new_queue_id(), "W")


def test_a_derived_message_is_accepted_once_with_the_callers_commit(
    database: Database, spool: Spool
) -> None:
    queue_id = derived_queue_id(new_queue_id(), "W")
    with database.session() as session:
        made = accept_derived(session, spool, queue_id, ENVELOPE, b"first\r\n", "DSN for Q")
        assert made and spool.read(queue_id) == b"first\r\n"  # durable before any commit
        session.commit()
    with database.session() as session:
        again = accept_derived(session, spool, queue_id, ENVELOPE, b"second\r\n", "DSN for Q")
        session.commit()
    assert not again and spool.read(queue_id) == b"first\r\n"  # a re-run changes nothing
    message = load(database, queue_id)
    assert (message.state, message.mail_from, message.size) == (MessageState.RECEIVED, "", 7)
    assert [(r.idx, r.address, r.state) for r in message.recipients] == [
        (0, "alice@example.test", RecipientState.PENDING)
    ]
    assert [(e.stage, e.detail) for e in message.events] == [("received", "DSN for Q")]


def test_a_derived_message_rolls_back_with_its_caller(database: Database, spool: Spool) -> None:
    queue_id = derived_queue_id(new_queue_id(), "F9")
    with database.session() as session:
        assert accept_derived(session, spool, queue_id, ENVELOPE, b"x\r\n", "DSN")
        session.rollback()
    assert count(database) == 0
    with database.session() as session:  # the re-run makes it again
        assert accept_derived(session, spool, queue_id, ENVELOPE, b"x\r\n", "DSN")
        session.commit()
    assert count(database) == 1


def test_accept_and_group_commit_make_the_same_rows(database: Database, spool: Spool) -> None:
    envelope = Envelope("bob@remote.test", ("a@example.test", "b@example.test"), "192.0.2.1")
    single = accept_message(database, spool, envelope, b"one\r\n")
    grouped = [new_queue_id() for _ in range(3)]
    record_messages(
        database, spool, [(q, envelope, spool.write(q, b"group\r\n", False)) for q in grouped]
    )
    for queue_id, size in [(single, 5), *((q, 7) for q in grouped)]:
        message = load(database, queue_id)
        assert (message.state, message.size, message.client_addr) == ("received", size, "192.0.2.1")
        assert [r.address for r in message.recipients] == ["a@example.test", "b@example.test"]
        assert [(e.stage, e.detail) for e in message.events] == [("received", f"{size} bytes")]


def test_no_recipient_no_message(database: Database, spool: Spool) -> None:
    nobody = Envelope("a@b.test", ())
    with pytest.raises(ValueError):
        accept_message(database, spool, nobody, b"x\r\n")
    with database.session() as session, pytest.raises(ValueError):
        accept_derived(session, spool, derived_queue_id(new_queue_id(), "W"), nobody, b"x", "")
    assert count(database) == 0 and list(spool.queue_dir.iterdir()) == []


def test_a_dsn_is_born_through_accept_and_runs_the_pipeline(
    settings: Settings, database: Database, store: MaildirStore, spool: Spool
) -> None:
    configure(settings)
    with database.session() as session:
        add_user(session, store, "alice@example.test", "alice password")
    envelope = Envelope("alice@example.test", ("ghost@example.test",), "127.0.0.1", "me")
    original = accept_message(database, spool, envelope, b"Subject: lost\r\n\r\nlost\r\n")
    drive(original)
    with database.session() as session:
        (dsn_id,) = session.scalars(select(Message.queue_id).where(Message.mail_from == ""))
    dsn = load(database, dsn_id)
    assert dsn.state == MessageState.DELIVERED and dsn.client_addr == "127.0.0.1"
    assert dsn.events[0].stage == "received"
    assert dsn.events[0].detail == f"DSN (failed) for {original}"
    assert [r.address for r in dsn.recipients] == ["alice@example.test"]
    (report,) = store.list_messages("alice@example.test")
    assert b"ghost@example.test" in store.read("alice@example.test", "INBOX", report.key)


def test_no_other_module_makes_message_rows() -> None:
    """The accept path is the only birth of a ``messages`` row (no ORM ``Message(...)``)."""
    repo = Path(__file__).resolve().parents[2]
    birth = re.compile(r"(?<![\w.])(?<!class )Message\(|insert\(Message\)|add_all?\(Message")
    found = [
        str(path.relative_to(repo))
        for package in ("mailrs", "workers", "smtpd", "web", "imapd", "bench")
        for path in (repo / package).rglob("*.py")
        if birth.search(path.read_text())
    ]
    assert found == ["mailrs/queue/accept.py"]
