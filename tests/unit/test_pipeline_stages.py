"""The pipeline's stages called directly: idempotent, crash-safe, never losing a message."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select, update
from support.pipeline import drive

from mailrs.accounts.aliases import add_alias
from mailrs.accounts.users import add_user
from mailrs.celery import app, configure
from mailrs.config import Settings
from mailrs.db.engine import Database
from mailrs.db.models import Message, utcnow
from mailrs.queue.accept import Envelope, accept_message
from mailrs.queue.canvas import DELIVER, RELAY
from mailrs.queue.spool import Spool
from mailrs.queue.sweep import HANDOFF_SECS, sweep_once, unfinished_messages
from mailrs.store.events import NewMail, subscribe
from mailrs.store.maildir import MaildirStore
from workers.deliver import deliver_message
from workers.route import route_message
from workers.spam import spam_check_message
from workers.validate import find_defects, validate_message

RAW = (
    b"From: bob@remote.test\r\nTo: alice@example.test\r\nSubject: stages\r\n"
    b"Date: Tue, 24 Nov 2026 10:00:00 +0000\r\nMessage-ID: <s@remote.test>\r\n\r\nhello\r\n"
)


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
        assert message.recipients and message.events and message.deliveries is not None
        return message


def inbox(store: MaildirStore, user: str, folder: str = "INBOX") -> list[bytes]:
    return [store.read(user, folder, m.key) for m in store.list_messages(user, folder)]


def run_to_route(queue_id: str) -> list:  # type: ignore[type-arg]
    validate_message(queue_id)
    spam_check_message(queue_id)
    return route_message(queue_id)


def test_validate_spam_route_deliver_to_several_users(
    pipeline: Spool, database: Database, store: MaildirStore
) -> None:
    queue_id = accept(database, pipeline, "alice@example.test", "Carol@Example.test")
    assert run_to_route(queue_id) == [(DELIVER, queue_id)]
    assert deliver_message(queue_id) == []
    for user in ("alice@example.test", "carol@example.test"):
        (copy,) = inbox(store, user)
        assert copy.startswith(
            b"Return-Path: <bob@remote.test>\r\nReceived: from client.remote.test"
        )
        assert f"id {queue_id}".encode() in copy
        assert b"X-Spam-Status: No, score=" in copy and b"X-Spam-Score: " in copy
        assert copy.endswith(RAW)
    message = row(database, queue_id)
    assert message.state == "delivered" and message.finished_at is not None
    assert message.spam_verdict == "ham" and message.spam_score is not None
    stages = [e.stage for e in message.events]
    assert stages[:4] == ["received", "validated", "spam", "routed"]
    assert stages.count("delivered") == 2 and stages[-1] == "finished"
    assert [d.state for d in message.deliveries] == ["delivered", "delivered"]
    assert [r.state for r in message.recipients] == ["delivered", "delivered"]
    assert not pipeline.exists(queue_id)  # finished: the spool file is gone


def test_every_stage_is_idempotent(
    pipeline: Spool, database: Database, store: MaildirStore
) -> None:
    queue_id = accept(database, pipeline, "alice@example.test")
    for _ in range(2):
        run_to_route(queue_id)
        deliver_message(queue_id)
    assert len(inbox(store, "alice@example.test")) == 1
    message = row(database, queue_id)
    assert len(message.events) == 6 and len(message.deliveries) == 1


def test_rerun_after_crash_mid_delivery_makes_no_second_copy(
    pipeline: Spool, database: Database, store: MaildirStore
) -> None:
    queue_id = accept(database, pipeline, "alice@example.test")
    run_to_route(queue_id)
    deliver_message(queue_id)
    # Simulate a worker killed after writing the file but before recording it,
    # and a client that read the message meanwhile (moved to cur/ with \Seen).
    with database.session() as session:
        message = session.scalar(select(Message).where(Message.queue_id == queue_id))
        assert message is not None
        message.finished_at = None
        message.state = "routed"
        message.deliveries[0].state = "delivering"
        session.commit()
    pipeline.write(queue_id, RAW)  # a crash comes before the spool file is removed
    (stored,) = store.list_messages("alice@example.test")
    store.set_flags("alice@example.test", "INBOX", stored.key, "S")
    assert route_message(queue_id) == [(DELIVER, queue_id)]  # the sweeper's re-run resumes
    deliver_message(queue_id)
    assert len(store.list_messages("alice@example.test")) == 1
    assert row(database, queue_id).deliveries[0].state == "delivered"


def test_later_stages_wait_for_earlier_ones(
    pipeline: Spool, database: Database, store: MaildirStore
) -> None:
    queue_id = accept(database, pipeline, "alice@example.test")
    assert deliver_message(queue_id) == []
    assert route_message(queue_id) == []
    spam_check_message(queue_id)
    assert row(database, queue_id).state == "received"
    assert inbox(store, "alice@example.test") == []


def test_user_removed_after_acceptance_bounces_only_that_recipient(
    pipeline: Spool, database: Database, store: MaildirStore
) -> None:
    queue_id = accept(database, pipeline, "alice@example.test", "ghost@example.test")
    with database.session() as session:
        add_user(session, store, "bob@remote.test", "bob password")  # the sender, local here
    drive(queue_id)
    message = row(database, queue_id)
    assert [d.state for d in message.deliveries] == ["delivered", "failed"]
    assert message.deliveries[1].status == "5.1.1" and message.deliveries[1].dsn_sent
    assert message.state == "delivered"
    assert len(inbox(store, "alice@example.test")) == 1
    (dsn,) = inbox(store, "bob@remote.test")
    assert b"Return-Path: <>" in dsn and b"Status: 5.1.1" in dsn
    assert b"Final-Recipient: rfc822; ghost@example.test" in dsn


def test_malformed_message_is_delivered_with_a_defect_note(
    pipeline: Spool, database: Database, store: MaildirStore
) -> None:
    broken = (
        b"Content-Type: multipart/mixed\r\nSubject: no boundary\r\n\r\nnot really multipart\r\n"
    )
    queue_id = accept(database, pipeline, "alice@example.test", data=broken)
    drive(queue_id)
    (copy,) = inbox(store, "alice@example.test")
    assert b"X-Mailrs-Defects: " in copy and copy.endswith(broken)
    assert find_defects(RAW) == []


def test_binary_garbage_is_still_delivered(
    pipeline: Spool, database: Database, store: MaildirStore
) -> None:
    garbage = bytes(range(256)) * 4 + b"\r\n"
    queue_id = accept(database, pipeline, "alice@example.test", data=garbage)
    drive(queue_id)
    (copy,) = inbox(store, "alice@example.test")
    assert copy.endswith(garbage) and b"X-Spam-Status:" in copy


def test_sweeper_republishes_unfinished_messages(
    pipeline: Spool, settings: Settings, database: Database
) -> None:
    done = accept(database, pipeline, "alice@example.test")
    drive(done)
    stalled = accept(database, pipeline, "carol@example.test")
    # Never published and just received: its receiver is about to publish it, so no
    # sweep takes it yet, whatever the grace (two pipelines would run side by side).
    assert unfinished_messages(database, grace_secs=0) == []
    with database.session() as session:  # the receiver died before publishing it
        session.execute(
            update(Message)
            .where(Message.queue_id == stalled)
            .values(received_at=utcnow() - dt.timedelta(seconds=HANDOFF_SECS + 1))
        )
        session.commit()
    assert unfinished_messages(database, grace_secs=0) == [stalled]
    assert unfinished_messages(database, grace_secs=3600) == [stalled]
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


def test_one_failing_recipient_is_retried_when_due_and_does_not_stop_the_others(
    pipeline: Spool, database: Database, store: MaildirStore
) -> None:
    alice_tmp = break_tmp(store, "alice@example.test")
    queue_id = accept(database, pipeline, "alice@example.test", "carol@example.test")
    drive(queue_id)
    assert len(inbox(store, "carol@example.test")) == 1
    message = row(database, queue_id)
    assert [d.state for d in message.deliveries] == ["deferred", "delivered"]
    assert "NotADirectoryError" in message.deliveries[0].last_error
    assert message.finished_at is None and pipeline.exists(queue_id)
    assert message.next_attempt_at is not None and message.attempts == 1
    # The retry waits in the database, not in a worker: not due yet, so not swept.
    assert unfinished_messages(database, grace_secs=0) == []
    assert route_message(queue_id) == []  # a stray re-run does not jump the schedule
    with database.session() as session:
        stored = session.scalar(select(Message).where(Message.queue_id == queue_id))
        assert stored is not None
        stored.next_attempt_at = stored.received_at  # now due
        session.commit()
    assert unfinished_messages(database, grace_secs=3600) == [queue_id]
    assert sweep_once(app, database, grace_secs=3600) == 1
    assert row(database, queue_id).next_attempt_at is None
    alice_tmp.unlink()
    alice_tmp.mkdir()
    assert route_message(queue_id) == [(DELIVER, queue_id)]
    assert deliver_message(queue_id) == []
    assert len(inbox(store, "alice@example.test")) == 1
    assert len(inbox(store, "carol@example.test")) == 1
    assert row(database, queue_id).state == "delivered"


def test_vanished_maildir_is_recreated(
    pipeline: Spool, database: Database, store: MaildirStore
) -> None:
    store.remove_user("alice@example.test")
    queue_id = accept(database, pipeline, "alice@example.test", "carol@example.test")
    drive(queue_id)
    assert len(inbox(store, "alice@example.test")) == 1
    assert len(inbox(store, "carol@example.test")) == 1


def test_aliases_fan_out_locally_and_send_remote_targets_to_relay(
    pipeline: Spool, database: Database, store: MaildirStore
) -> None:
    with database.session() as session:
        add_alias(session, "team@example.test", "alice@example.test")
        add_alias(session, "team@example.test", "carol@example.test")
        add_alias(session, "team@example.test", "dave@elsewhere.test")
        session.commit()
    queue_id = accept(database, pipeline, "team@example.test", "alice@example.test")
    assert run_to_route(queue_id) == [(DELIVER, queue_id), (RELAY, queue_id)]
    message = row(database, queue_id)
    targets = sorted((d.kind, d.address) for d in message.deliveries)
    assert targets == [
        ("local", "alice@example.test"),  # once, though reached twice
        ("local", "carol@example.test"),
        ("remote", "dave@elsewhere.test"),
    ]
    deliver_message(queue_id)
    assert len(inbox(store, "alice@example.test")) == 1
    assert row(database, queue_id).finished_at is None  # the remote target is still open


def test_spam_goes_to_junk_with_headers_and_an_event(
    pipeline: Spool, settings: Settings, database: Database, store: MaildirStore
) -> None:
    spam = (
        b'From: "paypal@bank.test" <x@spammer.test>\r\nSubject: YOU HAVE WON THE LOTTERY!!!\r\n'
        b"Authentication-Results: mx.example.test; spf=fail smtp.mailfrom=spammer.test;"
        b" dmarc=fail header.from=spammer.test\r\n\r\nclaim now\r\n"
    )
    with subscribe(settings, "alice@example.test") as feed:
        queue_id = accept(database, pipeline, "alice@example.test", data=spam)
        drive(queue_id)
        event = feed.get(timeout=5)
    assert inbox(store, "alice@example.test") == []
    (copy,) = inbox(store, "alice@example.test", "Junk")
    assert b"X-Spam-Status: Yes" in copy and copy.endswith(spam)
    message = row(database, queue_id)
    assert message.spam_verdict == "spam" and (message.spam_score or 0) >= 5
    assert "DMARC_FAIL" in message.spam_symbols and "SUBJ_SPAM_WORDS" in message.spam_symbols
    assert event is not None
    assert event["kind"] == "new_mail" and event["folder"] == "Junk"
    assert event["queue_id"] == queue_id and "LOTTERY" in event["subject"]


def test_new_mail_event_for_the_inbox(
    pipeline: Spool, settings: Settings, database: Database
) -> None:
    with subscribe(settings, "carol@example.test") as feed:
        queue_id = accept(database, pipeline, "carol@example.test")
        drive(queue_id)
        event = feed.get_event(timeout=5)
    assert event == NewMail(
        folder="INBOX",
        subject="stages",
        sender="bob@remote.test",
        queue_id=queue_id,
        source="deliver",
        user="carol@example.test",
    )
