"""Stage 2, deliver: write the message into each local recipient's Maildir, exactly once.

Each recipient gets a Maildir file whose name is fixed by the queue id and recipient
index, so a re-run after a crash (the task runs again, or the sweeper re-publishes it)
finds the earlier copy instead of making a second one. Recipients fail independently.
"""

from __future__ import annotations

import datetime as dt
import logging

from celery import Task
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from mailrs.accept import mark_published
from mailrs.celery import app
from mailrs.errors import MailboxNotFound
from mailrs.events import publish_event
from mailrs.maildir import StoredMessage, stable_name
from mailrs.models import Message, MessageEvent, Recipient, utcnow
from mailrs.pipeline import DELIVER
from mailrs.summaries import MAX_HEADER_BYTES, summarize
from mailrs.users import find_user
from workers.context import WorkerContext, worker_context
from workers.faults import pause_point

log = logging.getLogger(__name__)
FINAL_STATES = ("delivered", "failed")
MAX_RETRIES = 8


class DeferredDelivery(Exception):
    """Some recipients could not be delivered now; the task retries later."""


def _return_path(mail_from: str) -> bytes:
    return f"Return-Path: <{mail_from}>\r\n".encode()


def deliver_message(queue_id: str) -> list[str]:
    """Deliver every pending local recipient of a message; returns those still deferred."""
    ctx = worker_context()
    with ctx.db.session() as session:
        message = session.scalar(
            select(Message)
            .where(Message.queue_id == queue_id)
            .options(selectinload(Message.recipients))
        )
        if message is None or message.finished_at is not None:
            return []
        if message.state == "received":
            return [r.address for r in message.recipients]  # validate has not run yet
        pending = [r for r in message.recipients if r.state not in FINAL_STATES]
        data: bytes | None = None
        deferred: list[str] = []
        for rcpt in pending:
            retry = rcpt.attempts > 0
            rcpt.attempts += 1
            rcpt.state = "delivering"
            rcpt.updated_at = utcnow()
            session.commit()
            pause_point("deliver", queue_id)
            if data is None:
                data = (
                    _return_path(message.mail_from)
                    + message.added_headers.encode("utf-8", "surrogateescape")
                    + ctx.spool.read(queue_id)
                )
            outcome = _deliver_one(ctx, session, message, rcpt, data, retry)
            if outcome == "deferred":
                deferred.append(rcpt.address)
            if rcpt is not pending[-1]:
                session.commit()
        _finish_if_done(ctx, session, message)  # commits the last recipient with the finish
        return deferred


def _deliver_one(
    ctx: WorkerContext,
    session: Session,
    message: Message,
    rcpt: Recipient,
    data: bytes,
    retry: bool,
) -> str:
    user = find_user(session, rcpt.address)
    if user is None or user.disabled:
        rcpt.state = "failed"
        rcpt.last_error = "5.1.1 mailbox does not exist"
        _record(session, message, "failed", f"{rcpt.address}: no such user")
        return "failed"
    name = stable_name(
        message.received_at.timestamp(), f"{message.queue_id}R{rcpt.idx}", message.received_by
    )
    try:
        stored = _write(ctx, user.address, data, name, message.received_at.timestamp(), retry)
    except Exception as exc:  # one recipient's trouble never stops the others
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        rcpt.state = "deferred"
        rcpt.last_error = f"4.3.0 {type(exc).__name__}: {reason}"[:500]
        _record(session, message, "deferred", f"{rcpt.address}: {rcpt.last_error}")
        log.warning("deliver %s to %s deferred: %s", message.queue_id, rcpt.address, exc)
        return "deferred"
    rcpt.state = "delivered"
    rcpt.delivered_as = stored.filename[:255]
    rcpt.updated_at = utcnow()
    _record(session, message, "delivered", f"{rcpt.address} INBOX")
    _announce_new_mail(ctx, user.address, message.queue_id, data)  # issue5: web notifications
    return "delivered"


def _write(
    ctx: WorkerContext, address: str, data: bytes, name: str, mtime: float, retry: bool
) -> StoredMessage:
    """Write one copy; a user whose Maildir vanished gets it recreated, as an MDA would."""
    try:
        return ctx.store.deliver(address, data, key=name, mtime=mtime, check_existing=retry)
    except MailboxNotFound:
        ctx.store.create_user(address)
        return ctx.store.deliver(address, data, key=name, mtime=mtime, check_existing=retry)


def _announce_new_mail(ctx: WorkerContext, address: str, queue_id: str, data: bytes) -> None:
    """Publish the new-mail event (issue5 stop-gap until the pipeline owner's version lands)."""
    summary = summarize(data[:MAX_HEADER_BYTES])
    event = {"kind": "new_mail", "folder": "INBOX", "subject": summary.subject}
    publish_event(ctx.settings, address, {**event, "from": summary.sender, "queue_id": queue_id})


def _record(session: Session, message: Message, stage: str, detail: str) -> None:
    """Add a history event without loading the message's whole history."""
    session.add(MessageEvent(message_id=message.id, stage=stage, detail=detail))


def _finish_if_done(ctx: WorkerContext, session: Session, message: Message) -> None:
    if any(r.state not in FINAL_STATES for r in message.recipients):
        session.commit()
        return
    delivered = sum(r.state == "delivered" for r in message.recipients)
    message.state = "delivered" if delivered else "failed"
    message.finished_at = utcnow()
    session.commit()
    ctx.spool.remove(message.queue_id)


@app.task(name=DELIVER, bind=True, ignore_result=True, max_retries=MAX_RETRIES)
def deliver(self: Task, queue_id: str) -> None:
    """Celery task: the deliver stage; retries with backoff while recipients are deferred."""
    deferred = deliver_message(queue_id)
    if deferred:
        countdown = min(30 * 2**self.request.retries, 3600)
        # Tell the sweeper when the retry is due, so it does not jump the backoff.
        due = utcnow() + dt.timedelta(seconds=countdown)
        mark_published(worker_context().db, [queue_id], when=due)
        raise self.retry(exc=DeferredDelivery(", ".join(deferred)), countdown=countdown)
