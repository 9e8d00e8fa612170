"""Stage 3, route: expand each envelope recipient into local accounts and remote addresses.

Aliases (one-to-many, catch-all, plus tags) are resolved with ``resolve_recipient``, the
same function smtpd uses at RCPT time. Each final target becomes one ``deliveries`` row;
spam goes to the Junk folder of local targets. Then deliver and relay are sent for what
is still to do, so re-running route (the sweeper republishes an unfinished message's
chain) creates nothing twice and resumes where the message stands.
"""

from __future__ import annotations

from collections.abc import Sequence

from celery import Task
from sqlalchemy.orm import Session

from mailrs.accounts.resolve import Resolution, resolve_recipient
from mailrs.addresses import parse_address
from mailrs.celery import app
from mailrs.db.models import Delivery, Message, utcnow
from mailrs.errors import InvalidAddress
from mailrs.queue.canvas import DELIVER, RELAY, ROUTE, Step, dispatch
from mailrs.queue.states import BUSY, DeliveryKind, DeliveryState, MessageState
from workers.context import worker_context
from workers.faults import pause_point
from workers.progress import load_messages, record, settle
from workers.transitions import advance_all

UNKNOWN_STATUS = "5.1.1"


def route_messages(queue_ids: Sequence[str]) -> list[Step]:
    """Create the deliveries of a batch once, in one transaction; returns the tasks to run."""
    ctx = worker_context()
    settings = ctx.settings
    waiting: dict[str, set[DeliveryKind]] = {}
    with ctx.db.session() as session:
        messages = [m for m in load_messages(session, queue_ids) if m.finished_at is None]
        resolutions: dict[str, Resolution | None] = {}
        checked = [m for m in messages if m.state == MessageState.CHECKED]
        # claimed first, in one statement: a runner that finds them routed makes nothing
        won = advance_all(session, checked, MessageState.CHECKED, MessageState.ROUTED)
        lost = {m.id for m in checked if m.id not in won}
        changed = bool(won)
        for message in checked:
            if message.id in lost:
                continue
            pause_point("route", message.queue_id)
            _create_deliveries(
                session,
                message,
                settings.smtp.local_domains,
                settings.spam.junk_folder,
                resolutions,
            )
        if changed:
            session.commit()
        messages = [m for m in messages if m.id not in lost]  # the winner sends their tasks
        now = utcnow()
        for message in messages:
            if message.state != MessageState.ROUTED:
                continue  # an earlier stage has not run yet
            kinds = {d.kind for d in message.deliveries if d.state in BUSY}
            if message.next_attempt_at is None or message.next_attempt_at <= now:
                kinds |= {d.kind for d in message.deliveries if d.state == DeliveryState.DEFERRED}
            waiting[message.queue_id] = kinds
    steps: list[Step] = []
    for queue_id, kinds in waiting.items():
        if DeliveryKind.LOCAL in kinds:
            steps.append((DELIVER, queue_id))
        if DeliveryKind.REMOTE in kinds:
            steps.append((RELAY, queue_id))
        if not kinds:
            steps += settle(ctx, queue_id)
    return steps


def route_message(queue_id: str) -> list[Step]:
    """Create the deliveries of a message once; returns the tasks still to run."""
    return route_messages([queue_id])


def _resolve(
    session: Session,
    address: str,
    local_domains: tuple[str, ...],
    cache: dict[str, Resolution | None],
) -> Resolution | None:
    """``resolve_recipient``, remembered for the batch (a batch often shares recipients)."""
    key = address.lower()
    if key not in cache:
        cache[key] = resolve_recipient(session, address, local_domains)
    return cache[key]


def _create_deliveries(
    session: Session,
    message: Message,
    local_domains: tuple[str, ...],
    junk: bool,
    resolutions: dict[str, Resolution | None],
) -> None:
    quarantined = message.spam_verdict == "spam" or message.dmarc_disposition == "quarantine"
    folder = "Junk" if quarantined and junk else "INBOX"
    seen: set[tuple[str, str]] = set()
    summary = []
    for rcpt in message.recipients:
        resolution = _resolve(session, rcpt.address, local_domains, resolutions)
        if resolution is None:
            local = DeliveryKind.LOCAL
            _add(session, message, rcpt.idx, local, rcpt.address, folder, seen, failed=True)
            summary.append(f"{rcpt.address}: unknown")
            continue
        for account in resolution.local:
            _add(session, message, rcpt.idx, DeliveryKind.LOCAL, account, folder, seen)
        for remote in resolution.remote:
            _add(session, message, rcpt.idx, DeliveryKind.REMOTE, remote, "", seen)
        summary.append(
            f"{rcpt.address} -> {', '.join((*resolution.local, *resolution.remote)) or 'nothing'}"
        )
    record(session, message, "routed", "; ".join(summary))


def _add(
    session: Session,
    message: Message,
    idx: int,
    kind: DeliveryKind,
    address: str,
    folder: str,
    seen: set[tuple[str, str]],
    failed: bool = False,
) -> None:
    key: tuple[str, str] = (kind, address.lower())
    if key in seen:
        return  # two recipients that lead to the same mailbox get one copy
    seen.add(key)
    try:
        domain = parse_address(address).domain
    except InvalidAddress:  # an unknown recipient that does not even parse
        domain = ""
    delivery = Delivery(
        message_id=message.id,
        rcpt_idx=idx,
        kind=kind,
        address=address,
        domain=domain,
        folder=folder if kind == DeliveryKind.LOCAL else "",
    )
    if failed:
        delivery.state = DeliveryState.FAILED
        delivery.status = UNKNOWN_STATUS
        delivery.last_error = f"550 5.1.1 <{address}>: no such mailbox here"
    session.add(delivery)
    message.deliveries.append(delivery)


@app.task(name=ROUTE, bind=True, ignore_result=True)
def route(self: Task, *queue_ids: str) -> None:
    """Celery task: the route stage for a batch; sends deliver and relay (after its commit)."""
    dispatch(app, route_messages(queue_ids))
