"""Stage 3, route: expand each envelope recipient into local accounts and remote addresses.

Aliases (one-to-many, catch-all, plus tags) are resolved with ``resolve_recipient``, the
same function smtpd uses at RCPT time. Each final target becomes one ``deliveries`` row;
spam goes to the Junk folder of local targets. Then deliver and relay are sent for what
is still to do, so re-running route (the sweeper republishes an unfinished message's
chain) creates nothing twice and resumes where the message stands.
"""

from __future__ import annotations

from celery import Task
from sqlalchemy.orm import Session

from mailrs.celery import app
from mailrs.models import Delivery, Message, utcnow
from mailrs.pipeline import DELIVER, RELAY, ROUTE, Step, dispatch
from mailrs.resolve import resolve_recipient, split_address
from workers.context import worker_context
from workers.faults import pause_point
from workers.progress import load_message, record, settle

UNKNOWN_STATUS = "5.1.1"


def route_message(queue_id: str) -> list[Step]:
    """Create the deliveries of a message once; returns the tasks still to run."""
    ctx = worker_context()
    with ctx.db.session() as session:
        message = load_message(session, queue_id)
        if message is None or message.finished_at is not None:
            return []
        if message.state == "checked":
            pause_point("route", queue_id)
            _create_deliveries(
                session, message, ctx.settings.smtp.local_domains, ctx.settings.spam.junk_folder
            )
            message.state = "routed"
            session.commit()
        if message.state != "routed":
            return []  # an earlier stage has not run yet
        waiting = {d.kind for d in message.deliveries if d.state in ("pending", "delivering")}
        if message.next_attempt_at is None or message.next_attempt_at <= utcnow():
            waiting |= {d.kind for d in message.deliveries if d.state == "deferred"}
    steps: list[Step] = []
    if "local" in waiting:
        steps.append((DELIVER, queue_id))
    if "remote" in waiting:
        steps.append((RELAY, queue_id))
    return steps or settle(ctx, queue_id)


def _create_deliveries(
    session: Session, message: Message, local_domains: tuple[str, ...], junk: bool
) -> None:
    folder = "Junk" if message.spam_verdict == "spam" and junk else "INBOX"
    seen: set[tuple[str, str]] = set()
    summary = []
    for rcpt in message.recipients:
        try:
            resolution = resolve_recipient(session, rcpt.address, local_domains)
        except ValueError:
            resolution = None
        if resolution is None:
            _add(session, message, rcpt.idx, "local", rcpt.address, folder, seen, failed=True)
            summary.append(f"{rcpt.address}: unknown")
            continue
        for account in resolution.local:
            _add(session, message, rcpt.idx, "local", account, folder, seen)
        for remote in resolution.remote:
            _add(session, message, rcpt.idx, "remote", remote, "", seen)
        summary.append(
            f"{rcpt.address} -> {', '.join((*resolution.local, *resolution.remote)) or 'nothing'}"
        )
    record(session, message, "routed", "; ".join(summary))


def _add(
    session: Session,
    message: Message,
    idx: int,
    kind: str,
    address: str,
    folder: str,
    seen: set[tuple[str, str]],
    failed: bool = False,
) -> None:
    key = (kind, address.lower())
    if key in seen:
        return  # two recipients that lead to the same mailbox get one copy
    seen.add(key)
    domain = split_address(address)[1] if "@" in address else ""
    delivery = Delivery(
        message_id=message.id,
        rcpt_idx=idx,
        kind=kind,
        address=address,
        domain=domain,
        folder=folder if kind == "local" else "",
    )
    if failed:
        delivery.state = "failed"
        delivery.status = UNKNOWN_STATUS
        delivery.last_error = f"550 5.1.1 <{address}>: no such mailbox here"
    session.add(delivery)
    message.deliveries.append(delivery)


@app.task(name=ROUTE, bind=True, ignore_result=True)
def route(self: Task, queue_id: str) -> None:
    """Celery task: the route stage; sends deliver and relay (after its commit)."""
    dispatch(app, route_message(queue_id))
