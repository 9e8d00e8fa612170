"""The pipeline's stages called directly: idempotent, crash-safe, never losing a message."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from mailrs.accept import Envelope, accept_message
from mailrs.celery import app, configure
from mailrs.config import Settings
from mailrs.db import Database
from mailrs.maildir import MaildirStore
from mailrs.models import Message
from mailrs.spool import Spool
from mailrs.users import add_user
from workers.deliver import deliver_message
from workers.sweeper import sweep_once, unfinished_messages
from workers.validate import find_defects, validate_message

RAW = b"From: bob@remote.test\r\nTo: alice@example.test\r\nSubject: stages\r\n\r\nhello\r\n"


@pytest.fixture
def pipeline(settings: Settings, database: Database, store: MaildirStore) -> Spool:
    configure(settings)
    with database.session() as session:
        add_user(session, store, "alice@example.test", "alice password")
        add_user(session, store, "carol@example.test", "carol password")
    spool = Spool(settings.spool_path)
    spool.ensure()
    return spool


def accept(database: Database, spool: Spool, *rcpts: str, data: bytes = RAW) -> str:
    envelope = Envelope(
        "bob@remote.test", rcpts, "192.0.2.7", "client.remote.test", received_by="mx.example.test"
    )
    return accept_message(database, spool, envelope, data)


def row(database: Database, queue_id: str) -> Message:
    with database.session() as session:
        message = session.scalar(select(Message).where(Message.queue_id == queue_id))
        assert message is not None
        assert message.recipients and message.events  # loaded before the session closes
        return message


def inbox(store: MaildirStore, user: str) -> list[bytes]:
    return [store.read(user, "INBOX", m.key) for m in store.list_messages(user)]


def test_validate_then_deliver_to_several_users(
    pipeline: Spool, database: Database, store: MaildirStore
) -> None:
    queue_id = accept(database, pipeline, "alice@example.test", "Carol@Example.test")
    validate_message(queue_id)
    assert deliver_message(queue_id) == []
    for user in ("alice@example.test", "carol@example.test"):
        (copy,) = inbox(store, user)
        assert copy.startswith(
            b"Return-Path: <bob@remote.test>\r\nReceived: from client.remote.test"
        )
        assert f"id {queue_id}".encode() in copy
        assert copy.endswith(RAW)
    message = row(database, queue_id)
    assert message.state == "delivered" and message.finished_at is not None
    assert [e.stage for e in message.events] == ["received", "validated", "delivered", "delivered"]
    assert not pipeline.exists(queue_id)  # finished: the spool file is gone


def test_every_stage_is_idempotent(
    pipeline: Spool, database: Database, store: MaildirStore
) -> None:
    queue_id = accept(database, pipeline, "alice@example.test")
    for _ in range(2):
        validate_message(queue_id)
        deliver_message(queue_id)
    assert len(inbox(store, "alice@example.test")) == 1
    assert len(row(database, queue_id).events) == 3


def test_rerun_after_crash_mid_delivery_makes_no_second_copy(
    pipeline: Spool, database: Database, store: MaildirStore
) -> None:
    queue_id = accept(database, pipeline, "alice@example.test")
    validate_message(queue_id)
    deliver_message(queue_id)
    # Simulate a worker killed after writing the file but before recording it,
    # and a client that read the message meanwhile (moved to cur/ with \Seen).
    with database.session() as session:
        message = session.scalar(select(Message).where(Message.queue_id == queue_id))
        assert message is not None
        message.finished_at = None
        message.recipients[0].state = "delivering"
        session.commit()
    pipeline.write(queue_id, RAW)  # a crash comes before the spool file is removed
    (stored,) = store.list_messages("alice@example.test")
    store.set_flags("alice@example.test", "INBOX", stored.key, "S")
    deliver_message(queue_id)
    assert len(store.list_messages("alice@example.test")) == 1
    assert row(database, queue_id).recipients[0].state == "delivered"


def test_deliver_waits_for_validate(
    pipeline: Spool, database: Database, store: MaildirStore
) -> None:
    queue_id = accept(database, pipeline, "alice@example.test")
    assert deliver_message(queue_id) == ["alice@example.test"]
    assert inbox(store, "alice@example.test") == []


def test_user_removed_after_acceptance_fails_only_that_recipient(
    pipeline: Spool, database: Database, store: MaildirStore
) -> None:
    queue_id = accept(database, pipeline, "alice@example.test", "ghost@example.test")
    validate_message(queue_id)
    deliver_message(queue_id)
    message = row(database, queue_id)
    assert [r.state for r in message.recipients] == ["delivered", "failed"]
    assert message.state == "delivered"
    assert len(inbox(store, "alice@example.test")) == 1


def test_malformed_message_is_delivered_with_a_defect_note(
    pipeline: Spool, database: Database, store: MaildirStore
) -> None:
    broken = (
        b"Content-Type: multipart/mixed\r\nSubject: no boundary\r\n\r\nnot really multipart\r\n"
    )
    queue_id = accept(database, pipeline, "alice@example.test", data=broken)
    validate_message(queue_id)
    deliver_message(queue_id)
    (copy,) = inbox(store, "alice@example.test")
    assert b"X-Mailrs-Defects: " in copy and copy.endswith(broken)
    assert find_defects(RAW) == []


def test_sweeper_republishes_unfinished_messages(
    pipeline: Spool, settings: Settings, database: Database
) -> None:
    done = accept(database, pipeline, "alice@example.test")
    validate_message(done)
    deliver_message(done)
    stalled = accept(database, pipeline, "carol@example.test")
    assert unfinished_messages(database, grace_secs=0) == [stalled]
    assert sweep_once(app, database, grace_secs=0) == 1
    queued = list((settings.broker_dir / "queue").iterdir())
    assert len(queued) == 1  # the chain's first task, carrying the rest of the chain
    assert stalled.encode() in queued[0].read_bytes()
    assert unfinished_messages(database, grace_secs=3600) == []  # just published


def break_tmp(store: MaildirStore, user: str) -> Path:
    """Replace a user's tmp/ with a plain file, so writing a copy fails with an OSError."""
    tmp = store.user_dir(user) / "tmp"
    tmp.rmdir()
    tmp.write_text("not a directory")
    return tmp


def test_one_failing_recipient_does_not_stop_the_others(
    pipeline: Spool, database: Database, store: MaildirStore
) -> None:
    alice_tmp = break_tmp(store, "alice@example.test")
    queue_id = accept(database, pipeline, "alice@example.test", "carol@example.test")
    validate_message(queue_id)
    assert deliver_message(queue_id) == ["alice@example.test"]
    assert len(inbox(store, "carol@example.test")) == 1
    message = row(database, queue_id)
    assert [r.state for r in message.recipients] == ["deferred", "delivered"]
    assert "NotADirectoryError" in message.recipients[0].last_error
    assert message.finished_at is None and pipeline.exists(queue_id)
    alice_tmp.unlink()
    alice_tmp.mkdir()
    assert deliver_message(queue_id) == []
    assert len(inbox(store, "alice@example.test")) == 1
    assert len(inbox(store, "carol@example.test")) == 1
    assert row(database, queue_id).state == "delivered"


def test_vanished_maildir_is_recreated(
    pipeline: Spool, database: Database, store: MaildirStore
) -> None:
    store.remove_user("alice@example.test")
    queue_id = accept(database, pipeline, "alice@example.test", "carol@example.test")
    validate_message(queue_id)
    assert deliver_message(queue_id) == []
    assert len(inbox(store, "alice@example.test")) == 1
    assert len(inbox(store, "carol@example.test")) == 1


def test_a_retry_holds_the_sweeper_off_until_it_is_due(
    pipeline: Spool, database: Database, store: MaildirStore
) -> None:
    from workers.deliver import DeferredDelivery, deliver

    break_tmp(store, "alice@example.test")
    queue_id = accept(database, pipeline, "alice@example.test")
    validate_message(queue_id)
    # Called directly (not from a worker), Celery's retry re-raises the reason.
    with pytest.raises(DeferredDelivery):
        deliver.run(queue_id)
    assert unfinished_messages(database, grace_secs=0) == []  # the retry is not due yet
    published = row(database, queue_id).published_at
    assert published is not None and published > row(database, queue_id).received_at
