"""Stage 5, bounce: report failures, long delays and asked-for successes with a DSN.

What is reported follows each recipient's NOTIFY (``workers.reports_due``), the DSN
carries the sender's ENVID and ORCPTs and returns the whole message for RET=FULL.

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
from mailrs.queue.states import DeliveryKind, DeliveryState, MessageState
from workers.context import WorkerContext, worker_context
from workers.progress import load_message, record, settle, warning_due
from workers.reports_due import delay_wanted, orcpt_of, reports_due


def _entry(message: Message, delivery: Delivery, action: str) -> DsnRecipient:
    fallback = {"failed": "5.0.0", "delayed": "4.0.0"}.get(action, "2.0.0")
    return DsnRecipient(
        address=delivery.address,
        action=action,
        status=delivery.status or fallback,
        diagnostic=delivery.last_error,
        remote_mta=delivery.remote_mta,
        original=orcpt_of(message, delivery),
    )


def _success_action(delivery: Delivery) -> str:
    return "delivered" if delivery.kind == DeliveryKind.LOCAL else "relayed"


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
        due = reports_due(message)
        if due.failed:
            kind = "F" + ",".join(str(d.id) for d in due.failed)
            entries = [_entry(message, d, "failed") for d in due.failed]
            steps += _send_dsn(ctx, session, message, entries, kind)
        if due.succeeded:
            kind = "S" + ",".join(str(d.id) for d in due.succeeded)
            entries = [_entry(message, d, _success_action(d)) for d in due.succeeded]
            steps += _send_dsn(ctx, session, message, entries, kind)
        for delivery in [*due.failed, *due.succeeded, *due.silent]:
            delivery.dsn_sent = True
        if warning_due(ctx, message, now):
            deferred = [
                d
                for d in message.deliveries
                if d.state == DeliveryState.DEFERRED and delay_wanted(message, d)
            ]
            until = message.received_at + dt.timedelta(seconds=ctx.settings.relay.max_lifetime_secs)
            entries = [_entry(message, d, "delayed") for d in deferred]
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
    """Accept a DSN into the caller's transaction (committed with the marks); idempotent.

    RET=FULL returns the whole message, except one sent with REQUIRETLS: its report goes
    with REQUIRETLS too and carries the headers only (RFC 8689 5).
    """
    dsn_id = derived_queue_id(message.queue_id, kind)
    hostname = ctx.settings.smtp.hostname
    envelope = Envelope(
        mail_from="",
        recipients=(message.mail_from,),
        client_addr="127.0.0.1",
        helo=hostname,
        received_by=hostname,
        require_tls=message.require_tls,
    )
    action = entries[0].action if entries else "failed"
    note = f"DSN ({action}) for {message.queue_id}"
    data = build_dsn(
        hostname,
        message.mail_from,
        message.queue_id,
        message.received_at,
        entries,
        ctx.spool.read(message.queue_id),
        retry_until=retry_until,
        envid=message.dsn_envid,
        full=message.dsn_ret == "FULL" and not message.require_tls,
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
