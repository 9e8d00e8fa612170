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
from collections.abc import Sequence
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from typing import Any

from celery import Task
from sqlalchemy.orm import Session

from mailrs.celery import app
from mailrs.errors import MailboxNotFound, SpoolError
from mailrs.events import publish_event
from mailrs.maildir import StoredMessage, stable_name
from mailrs.models import Delivery, Message, User, utcnow
from mailrs.pipeline import DELIVER, Step, dispatch
from mailrs.users import find_user
from workers.context import WorkerContext, worker_context
from workers.faults import pause_point
from workers.progress import FINAL, conclude, load_messages, record, settle

log = logging.getLogger(__name__)


def _return_path(mail_from: str) -> bytes:
    return f"Return-Path: <{mail_from}>\r\n".encode()


def deliver_messages(queue_ids: Sequence[str]) -> list[Step]:
    """Deliver every pending local target of a batch; returns the tasks still to run.

    Two commits for the whole batch: the "delivering" marks (with the attempt count a
    re-run reads to look for an earlier copy), then every result with each message's
    finish. A message that also has remote targets settles on its own afterwards,
    since a relay may be running on it.
    """
    ctx = worker_context()
    events: list[tuple[str, dict[str, Any]]] = []
    steps: list[Step] = []
    shared: list[str] = []
    with ctx.db.session() as session:
        work: list[tuple[Message, list[tuple[Delivery, bool]]]] = []
        for message in load_messages(session, queue_ids):
            if message.finished_at is not None or message.state != "routed":
                continue  # finished, or route has not run yet
            pending = []
            for delivery in message.deliveries:
                if delivery.kind != "local" or delivery.state in FINAL:
                    continue
                pending.append((delivery, delivery.attempts > 0))
                delivery.attempts += 1
                delivery.state = "delivering"
                delivery.updated_at = utcnow()
            work.append((message, pending))
        if not work:
            return []
        session.commit()
        users: dict[str, User | None] = {}
        done: list[Message] = []
        for message, pending in work:
            pause_point("deliver", message.queue_id)
            if pending:
                try:
                    data = (
                        _return_path(message.mail_from)
                        + message.added_headers.encode("utf-8", "surrogateescape")
                        + ctx.spool.read(message.queue_id)
                    )
                except SpoolError as exc:  # one lost file must not hold up the batch
                    log.error("deliver %s: %s", message.queue_id, exc)
                    continue
                for delivery, retry in pending:
                    if _deliver_one(ctx, session, message, delivery, data, retry, users):
                        events.append((delivery.address, _event(message, delivery.folder, data)))
            done.append(message)
        finished = []
        for message in done:
            if all(d.kind == "local" or d.state in FINAL for d in message.deliveries):
                more, over = conclude(ctx, session, message)  # no relay can be running
                steps += more
                if over:
                    finished.append(message.queue_id)
            else:
                shared.append(message.queue_id)
        session.commit()
    for queue_id in finished:
        ctx.spool.remove(queue_id)
    for queue_id in shared:
        steps += settle(ctx, queue_id)
    for user, event in events:
        publish_event(ctx.settings, user, event)
    return steps


def deliver_message(queue_id: str) -> list[Step]:
    """Deliver every pending local target of a message; returns the tasks still to run."""
    return deliver_messages([queue_id])


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
    users: dict[str, User | None],
) -> bool:
    """Write one copy; True when it is in the mailbox (``users``: lookups of the batch)."""
    key = delivery.address.lower()
    if key not in users:
        users[key] = find_user(session, delivery.address)
    user = users[key]
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
def deliver(self: Task, *queue_ids: str) -> None:
    """Celery task: the deliver stage for a batch (a deferral is retried by the sweeper)."""
    dispatch(app, deliver_messages(queue_ids))
