"""Stage 3, route: expand each envelope recipient into local accounts and remote addresses.

Aliases (one-to-many, catch-all, plus tags) are resolved with ``resolve_recipient``, the
same function smtpd uses at RCPT time. Each final target becomes one ``deliveries`` row;
spam goes to the Junk folder of local targets. Then deliver and relay are sent for what
is still to do, so re-running route (the sweeper republishes an unfinished message's
chain) creates nothing twice and resumes where the message stands.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

from celery import Task
from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from mailrs.accounts.resolve import Resolution, resolve_recipient
from mailrs.addresses import parse_address
from mailrs.celery import app
from mailrs.db.models import Delivery, Message, utcnow
from mailrs.errors import InvalidAddress
from mailrs.queue.canvas import DELIVER, RELAY, ROUTE, Step, dispatch
from mailrs.queue.claims import Claims
from mailrs.queue.states import BUSY, DeliveryKind, DeliveryState, MessageState
from workers.context import worker_context
from workers.faults import pause_point
from workers.progress import load_messages, record, settle
from workers.transitions import advance_all

UNKNOWN_STATUS = "5.1.1"
_DELIVERIES = cast(Table, Delivery.__table__)  # one Core INSERT per batch, not ORM objects


def route_messages(queue_ids: Sequence[str]) -> list[Step]:
    """Create the deliveries of a batch once, in one transaction; returns the tasks to run."""
    return route_batch(queue_ids).steps


@dataclass(frozen=True)
class Routed:
    """What ``route_batch`` did: the tasks still to run, and the messages whose local
    deliveries it marked "delivering" for its caller (``deliver_messages``'s ``fresh``)."""

    steps: list[Step]
    marked: frozenset[str] = frozenset()


def route_batch(queue_ids: Sequence[str], claims: Claims | None = None) -> Routed:
    """``route_messages``; with ``claims``, the local deliveries of the messages they hold
    are created "delivering" (first attempt), so the caller's deliver needs no commit of
    its own before it writes (a re-run after a crash sees the attempt and looks for an
    earlier copy, as after deliver's own marks)."""
    ctx = worker_context()
    settings = ctx.settings
    waiting: dict[str, set[DeliveryKind]] = {}
    marked: set[str] = set()
    with ctx.db.session() as session:
        messages = [m for m in load_messages(session, queue_ids) if m.finished_at is None]
        resolutions: dict[str, Resolution | None] = {}
        checked = [m for m in messages if m.state == MessageState.CHECKED]
        # claimed first, in one statement: a runner that finds them routed makes nothing
        won = advance_all(session, checked, MessageState.CHECKED, MessageState.ROUTED)
        now = utcnow()
        rows: list[dict[str, object]] = []
        made: dict[int, set[DeliveryKind]] = {}
        for message in checked:
            if message.id not in won:
                continue
            pause_point("route", message.queue_id)
            mark = claims is not None and claims.holds(message.queue_id)
            made[message.id] = _create_deliveries(
                session,
                message,
                settings.smtp.local_domains,
                settings.spam.junk_folder,
                resolutions,
                _Rows(rows, now, mark),
            )
            if mark and DeliveryKind.LOCAL in made[message.id]:
                marked.add(message.queue_id)
        if rows:
            session.execute(insert(_DELIVERIES), rows)
        if won:
            session.commit()
        lost = {m.id for m in checked if m.id not in won}
        messages = [m for m in messages if m.id not in lost]  # the winner sends their tasks
        for message in messages:
            if message.state != MessageState.ROUTED:
                continue  # an earlier stage has not run yet
            if message.id in made:  # routed just now: its deliveries are the rows made
                waiting[message.queue_id] = made[message.id]
                continue
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
    return Routed(steps, frozenset(marked))


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


@dataclass(frozen=True)
class _Rows:
    """Where a batch's delivery rows are gathered (one INSERT for the batch)."""

    rows: list[dict[str, object]]
    now: dt.datetime
    mark: bool  # local deliveries start "delivering" (the caller delivers them next)


def _create_deliveries(
    session: Session,
    message: Message,
    local_domains: tuple[str, ...],
    junk: bool,
    resolutions: dict[str, Resolution | None],
    out: _Rows,
) -> set[DeliveryKind]:
    """Add the message's delivery rows to ``out``; the kinds still to be done."""
    quarantined = message.spam_verdict == "spam" or message.dmarc_disposition == "quarantine"
    folder = "Junk" if quarantined and junk else "INBOX"
    seen: set[tuple[str, str]] = set()
    summary = []
    kinds: set[DeliveryKind] = set()
    for rcpt in message.recipients:
        resolution = _resolve(session, rcpt.address, local_domains, resolutions)
        if resolution is None:
            local = DeliveryKind.LOCAL
            _add(out, message, rcpt.idx, local, rcpt.address, folder, seen, failed=True)
            summary.append(f"{rcpt.address}: unknown")
            continue
        for account in resolution.local:
            if _add(out, message, rcpt.idx, DeliveryKind.LOCAL, account, folder, seen):
                kinds.add(DeliveryKind.LOCAL)
        for remote in resolution.remote:
            if _add(out, message, rcpt.idx, DeliveryKind.REMOTE, remote, "", seen):
                kinds.add(DeliveryKind.REMOTE)
        summary.append(
            f"{rcpt.address} -> {', '.join((*resolution.local, *resolution.remote)) or 'nothing'}"
        )
    record(session, message, "routed", "; ".join(summary))
    return kinds


def _add(
    out: _Rows,
    message: Message,
    idx: int,
    kind: DeliveryKind,
    address: str,
    folder: str,
    seen: set[tuple[str, str]],
    failed: bool = False,
) -> bool:
    """Add one delivery row unless the batch has it already; True when one was added."""
    key: tuple[str, str] = (kind, address.lower())
    if key in seen:
        return False  # two recipients that lead to the same mailbox get one copy
    seen.add(key)
    try:
        domain = parse_address(address).domain
    except InvalidAddress:  # an unknown recipient that does not even parse
        domain = ""
    row: dict[str, object] = {
        "message_id": message.id,
        "rcpt_idx": idx,
        "kind": kind,
        "address": address,
        "domain": domain,
        "folder": folder if kind == DeliveryKind.LOCAL else "",
        "state": DeliveryState.PENDING,
        "attempts": 0,
        "status": "",
        "last_error": "",
        "updated_at": out.now,
    }
    if failed:
        row["state"] = DeliveryState.FAILED
        row["status"] = UNKNOWN_STATUS
        row["last_error"] = f"550 5.1.1 <{address}>: no such mailbox here"
    elif kind == DeliveryKind.LOCAL and out.mark:
        row["state"] = DeliveryState.DELIVERING
        row["attempts"] = 1
    out.rows.append(row)
    return not failed


@app.task(name=ROUTE, bind=True, ignore_result=True)
def route(self: Task, *queue_ids: str) -> None:
    """Celery task: the route stage for a batch; sends deliver and relay (after its commit)."""
    dispatch(app, route_messages(queue_ids))
