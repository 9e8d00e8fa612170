"""Stage 4a, deliver: write the message into each local target's Maildir, exactly once.

Each target gets a Maildir file whose name is fixed by the queue id and delivery id, so
a re-run after a crash (the task runs again, or the sweeper re-publishes the message)
finds the earlier copy instead of making a second one. Targets fail independently: a
mailbox that cannot be written is deferred and retried on the relay schedule while the
others are delivered. Spam goes to the Junk folder route chose. Each delivery publishes
a new-mail event for IMAP IDLE and the web.
"""

from __future__ import annotations

import logging
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from typing import Any

from celery import Task
from sqlalchemy.orm import Session

from mailrs.celery import app
from mailrs.errors import MailboxNotFound
from mailrs.events import publish_event
from mailrs.maildir import StoredMessage, stable_name
from mailrs.models import Delivery, Message, utcnow
from mailrs.pipeline import DELIVER, Step, dispatch
from mailrs.users import find_user
from workers.context import WorkerContext, worker_context
from workers.faults import pause_point
from workers.progress import FINAL, load_message, record, settle, settle_loaded

log = logging.getLogger(__name__)


def _return_path(mail_from: str) -> bytes:
    return f"Return-Path: <{mail_from}>\r\n".encode()


def deliver_message(queue_id: str) -> list[Step]:
    """Deliver every pending local target of a message; returns the tasks still to run."""
    ctx = worker_context()
    events: list[tuple[str, dict[str, Any]]] = []
    with ctx.db.session() as session:
        message = load_message(session, queue_id)
        if message is None or message.finished_at is not None or message.state != "routed":
            return []  # unknown, finished, or route has not run yet
        pending = [d for d in message.deliveries if d.kind == "local" and d.state not in FINAL]
        data: bytes | None = None
        for delivery in pending:
            retry = delivery.attempts > 0
            delivery.attempts += 1
            delivery.state = "delivering"
            delivery.updated_at = utcnow()
            session.commit()
            pause_point("deliver", queue_id)
            if data is None:
                data = (
                    _return_path(message.mail_from)
                    + message.added_headers.encode("utf-8", "surrogateescape")
                    + ctx.spool.read(queue_id)
                )
            if _deliver_one(ctx, session, message, delivery, data, retry):
                events.append((delivery.address, _event(message, delivery.folder, data)))
            if delivery is not pending[-1]:
                session.commit()
        alone = all(d.kind == "local" or d.state in FINAL for d in message.deliveries)
        if alone:  # no relay can be running: the last result and the finish in one commit
            steps = settle_loaded(ctx, session, message)
        else:
            session.commit()
    if not alone:
        steps = settle(ctx, queue_id)
    for user, event in events:
        publish_event(ctx.settings, user, event)
    return steps


def _event(message: Message, folder: str, data: bytes) -> dict[str, Any]:
    """The new-mail event of one delivered copy."""
    head = BytesHeaderParser(policy=default_policy).parsebytes(data[:65536])
    try:
        subject, sender = str(head.get("Subject", "")), str(head.get("From", ""))
    except Exception:  # an unparseable header is still news
        subject, sender = "", ""
    return {
        "kind": "new_mail",
        "folder": folder,
        "subject": subject[:300],
        "from": sender[:300],
        "queue_id": message.queue_id,
    }


def _deliver_one(
    ctx: WorkerContext,
    session: Session,
    message: Message,
    delivery: Delivery,
    data: bytes,
    retry: bool,
) -> bool:
    """Write one copy; True when it is in the mailbox."""
    user = find_user(session, delivery.address)
    if user is None or user.disabled:
        delivery.state = "failed"
        delivery.status = "5.1.1"
        delivery.last_error = f"550 5.1.1 <{delivery.address}>: mailbox does not exist"
        record(session, message, "failed", f"{delivery.address}: no such user")
        return False
    name = stable_name(
        message.received_at.timestamp(), f"{message.queue_id}D{delivery.id}", message.received_by
    )
    folder = delivery.folder or "INBOX"
    try:
        stored = _write(ctx, user.address, folder, data, name, message, retry)
    except Exception as exc:  # one recipient's trouble never stops the others
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        delivery.state = "deferred"
        delivery.status = "4.3.0"
        delivery.last_error = f"451 4.3.0 {type(exc).__name__}: {reason}"[:500]
        delivery.updated_at = utcnow()
        record(session, message, "deferred", f"{delivery.address}: {delivery.last_error}")
        log.warning("deliver %s to %s deferred: %s", message.queue_id, delivery.address, exc)
        return False
    delivery.state = "delivered"
    delivery.status = "2.0.0"
    delivery.last_error = ""
    delivery.delivered_as = stored.filename[:255]
    delivery.updated_at = utcnow()
    record(session, message, "delivered", f"{delivery.address} {folder}")
    return True


def _write(
    ctx: WorkerContext,
    address: str,
    folder: str,
    data: bytes,
    name: str,
    message: Message,
    retry: bool,
) -> StoredMessage:
    """Write one copy; a user whose Maildir (or Junk) vanished gets it recreated."""
    mtime = message.received_at.timestamp()
    try:
        return ctx.store.deliver(
            address, data, mailbox=folder, key=name, mtime=mtime, check_existing=retry
        )
    except MailboxNotFound:
        ctx.store.create_user(address)
        return ctx.store.deliver(
            address, data, mailbox=folder, key=name, mtime=mtime, check_existing=retry
        )


@app.task(name=DELIVER, bind=True, ignore_result=True)
def deliver(self: Task, queue_id: str) -> None:
    """Celery task: the deliver stage (a deferral is retried by the sweeper when due)."""
    dispatch(app, deliver_message(queue_id))
