"""Stage 5, bounce: report failures (and long delays) to the envelope sender with a DSN.

The DSN (``mailrs.outbound.dsn``) is spooled and recorded as a new message from ``<>`` in the
same transaction that marks the failures as reported, under a queue id derived from the
original's, so running the task twice makes one DSN. It then runs the normal pipeline:
a local sender finds it in the inbox, a remote one gets it by relay. Never to ``<>``
(the sender of every DSN), so a bounce can never bounce again.
"""

from __future__ import annotations

import datetime as dt

from celery import Task
from sqlalchemy.orm import Session

from mailrs.celery import app
from mailrs.db.models import Delivery, Message, utcnow
from mailrs.outbound.dsn import DsnRecipient, build_dsn
from mailrs.queue.accept import Envelope, accept_derived
from mailrs.queue.canvas import BOUNCE, VALIDATE, Step, dispatch
from mailrs.queue.publish import publish_and_mark
from mailrs.queue.spool import derived_queue_id
from mailrs.queue.states import DeliveryState, MessageState
from workers.context import WorkerContext, worker_context
from workers.progress import load_message, record, settle, warning_due


def _entry(delivery: Delivery, action: str) -> DsnRecipient:
    return DsnRecipient(
        address=delivery.address,
        action=action,
        status=delivery.status or ("5.0.0" if action == "failed" else "4.0.0"),
        diagnostic=delivery.last_error,
        remote_mta=delivery.remote_mta,
    )


def bounce_message(queue_id: str) -> list[Step]:
    """Send the DSNs that are due for a message; returns the tasks still to run."""
    ctx = worker_context()
    steps: list[Step] = []
    with ctx.db.session() as session:
        message = load_message(session, queue_id, lock=True)
        if (
            message is None
            or message.finished_at is not None
            or message.state != MessageState.ROUTED
        ):
            return []
        now = utcnow()
        failed = [
            d for d in message.deliveries if d.state == DeliveryState.FAILED and not d.dsn_sent
        ]
        if failed and message.mail_from:
            kind = "F" + ",".join(str(d.id) for d in failed)
            steps += _send_dsn(ctx, session, message, [_entry(d, "failed") for d in failed], kind)
        for delivery in failed:
            delivery.dsn_sent = True
        if warning_due(ctx, message, now):
            deferred = [d for d in message.deliveries if d.state == DeliveryState.DEFERRED]
            until = message.received_at + dt.timedelta(seconds=ctx.settings.relay.max_lifetime_secs)
            entries = [_entry(d, "delayed") for d in deferred]
            steps += _send_dsn(ctx, session, message, entries, "W", until)
            message.warned_at = now
        session.commit()
    return steps + settle(ctx, queue_id)


def _send_dsn(
    ctx: WorkerContext,
    session: Session,
    message: Message,
    entries: list[DsnRecipient],
    kind: str,
    retry_until: dt.datetime | None = None,
) -> list[Step]:
    """Accept a DSN into the caller's transaction (committed with the marks); idempotent."""
    dsn_id = derived_queue_id(message.queue_id, kind)
    hostname = ctx.settings.smtp.hostname
    envelope = Envelope(
        mail_from="",
        recipients=(message.mail_from,),
        client_addr="127.0.0.1",
        helo=hostname,
        received_by=hostname,
    )
    action = "delayed" if retry_until else "failed"
    note = f"DSN ({action}) for {message.queue_id}"
    data = build_dsn(
        hostname,
        message.mail_from,
        message.queue_id,
        message.received_at,
        entries,
        ctx.spool.read(message.queue_id),
        retry_until=retry_until,
    )
    if not accept_derived(session, ctx.spool, dsn_id, envelope, data, note):
        return []  # made by an earlier run
    record(session, message, "bounce", f"DSN {dsn_id} ({action}) to <{message.mail_from}>")
    return [(VALIDATE, dsn_id)]


@app.task(name=BOUNCE, bind=True, ignore_result=True)
def bounce(self: Task, *queue_ids: str) -> None:
    """Celery task: the bounce stage; starts the DSN's own pipeline after the commit."""
    for queue_id in queue_ids:
        steps = bounce_message(queue_id)
        dsns = [qid for name, qid in steps if name == VALIDATE]
        if dsns:  # a new message: published and marked like any other (or swept up later)
            publish_and_mark(app, worker_context().db, dsns)
        dispatch(app, [step for step in steps if step[0] != VALIDATE])
