"""Where a message stands after a stage: history, retry scheduling, DSNs due, the finish.

``settle`` runs at the end of deliver, relay and bounce, in its own transaction after
the stage has committed its results, so that of two stages finishing together at least
one sees every delivery's final state. It decides what is left: a bounce (failures not
yet reported, or a "delayed" warning due), a retry time stored in the database (the
sweeper republishes the message when it is due: no long wait sits in a worker), expiry
at the maximum queue lifetime, or the finish (state, finished_at, spool file removed).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from typing import cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from mailrs.db.models import Delivery, Message, Recipient, utcnow
from mailrs.queue.canvas import BOUNCE, Step
from mailrs.queue.retry import backoff_secs
from mailrs.queue.states import BUSY, DONE, DeliveryState, MessageState, RecipientState
from workers.context import WorkerContext
from workers.history import add_event
from workers.metrics import count_event
from workers.reports_due import delay_wanted, reports_due

log = logging.getLogger(__name__)

EXPIRED_STATUS = "4.4.7"
_MESSAGES = cast(Table, Message.__table__)  # Core statements, not the ORM's bulk paths
_RECIPIENTS = cast(Table, Recipient.__table__)


def record(session: Session, message: Message, stage: str, detail: str) -> None:
    """Add a history event without loading the message's whole history."""
    add_event(session, message.id, stage, detail[:2000])
    count_event(stage, detail)


def load_message(session: Session, queue_id: str, lock: bool = False) -> Message | None:
    """A message with its recipients and deliveries (row-locked on servers if asked)."""
    query = (
        select(Message)
        .where(Message.queue_id == queue_id)
        .options(selectinload(Message.recipients), selectinload(Message.deliveries))
    )
    if lock:
        query = query.with_for_update()
    return session.scalar(query)


def load_messages(session: Session, queue_ids: Sequence[str]) -> list[Message]:
    """Messages with their recipients and deliveries, in one query per table, in id order."""
    query = (
        select(Message)
        .where(Message.queue_id.in_(list(queue_ids)))
        .order_by(Message.id)
        .options(selectinload(Message.recipients), selectinload(Message.deliveries))
    )
    return list(session.scalars(query))


def age_secs(message: Message, now: dt.datetime) -> float:
    """How long ago the message was received."""
    return (now - message.received_at).total_seconds()


def warning_due(ctx: WorkerContext, message: Message, now: dt.datetime) -> bool:
    """True when a "delayed" DSN should go to the sender now."""
    return (
        message.mail_from != ""
        and message.warned_at is None
        and age_secs(message, now) >= ctx.settings.relay.delay_warning_secs
        and any(
            d.state == DeliveryState.DEFERRED and delay_wanted(message, d)
            for d in message.deliveries
        )
    )


def settle(ctx: WorkerContext, queue_id: str) -> list[Step]:
    """Decide what is left for a message after a stage; returns the tasks to send."""
    with ctx.db.session() as session:
        message = load_message(session, queue_id, lock=True)
        if (
            message is None
            or message.finished_at is not None
            or message.state != MessageState.ROUTED
        ):
            return []
        return settle_loaded(ctx, session, message)


def settle_loaded(ctx: WorkerContext, session: Session, message: Message) -> list[Step]:
    """``settle`` for a message already loaded in ``session`` (commits the session).

    Only for a stage that is alone on the message (no other stage can be running on it),
    so that its results and the decision share one transaction.
    """
    steps, finished = conclude(ctx, session, message)
    session.commit()
    if finished:
        ctx.spool.remove(message.queue_id)
    return steps


def conclude(
    ctx: WorkerContext, session: Session, message: Message, finishes: Finishes | None = None
) -> tuple[list[Step], bool]:
    """The decision of ``settle_loaded`` without the commit: (tasks to send, finished).

    A batch stage concludes each of its messages, commits once, then removes the spool
    files of the finished ones (never before the commit: a crash in between leaves an
    unfinished row whose spool file is still there). With ``finishes``, a finished
    message is written with the batch's others (``Finishes.write``, before the commit).
    """
    queue_id = message.queue_id
    now = utcnow()
    deliveries = message.deliveries
    busy = [d for d in deliveries if d.state in BUSY]
    deferred = [d for d in deliveries if d.state == DeliveryState.DEFERRED]
    if deferred and not busy and age_secs(message, now) >= ctx.settings.relay.max_lifetime_secs:
        _expire(session, message, deferred)
        deferred = []
    due = reports_due(message)
    if due.silent:
        for delivery in due.silent:
            delivery.dsn_sent = True
        if message.mail_from == "":  # never a bounce to the null sender
            record(session, message, "bounce", "not sent: the sender is <> (no bounce loop)")
        else:
            names = ", ".join(d.address for d in due.silent)
            record(session, message, "bounce", f"not sent: NOTIFY asks no failure report ({names})")
    steps: list[Step] = []
    if due.failed or due.succeeded or (not busy and warning_due(ctx, message, now)):
        steps.append((BOUNCE, queue_id))
    if busy or steps:
        return steps, False
    if deferred:
        _schedule_retry(ctx, session, message, now)
        return steps, False
    if finishes is None:
        _finish(session, message, now)
    else:
        finishes.add(message, now)
    return steps, True


def _expire(session: Session, message: Message, deferred: list[Delivery]) -> None:
    for delivery in deferred:
        delivery.state = DeliveryState.FAILED
        delivery.status = EXPIRED_STATUS
        reason = delivery.last_error or "no delivery before the maximum queue lifetime"
        delivery.last_error = f"message expired in the queue; last error: {reason}"[:2000]
        delivery.updated_at = utcnow()
    record(session, message, "expired", ", ".join(d.address for d in deferred))


def _schedule_retry(
    ctx: WorkerContext, session: Session, message: Message, now: dt.datetime
) -> None:
    if message.next_attempt_at is not None and message.next_attempt_at > now:
        return  # another stage already scheduled this round
    wait = backoff_secs(ctx.settings.relay, message.attempts)
    message.attempts += 1
    message.next_attempt_at = now + dt.timedelta(seconds=wait)
    record(session, message, "deferred", f"retry {message.attempts} in {wait:.0f}s")


class Finishes:
    """The messages a transaction finishes, written together when it is about to commit.

    One ``UPDATE … WHERE id IN (…) AND finished_at IS NULL RETURNING id`` per final
    state, one executemany for the recipients, and a "finished" event only for the rows
    this runner finished: through the ORM each finish had been a statement built and run
    per message, and each recipient a unit-of-work update.
    """

    def __init__(self) -> None:
        self._messages: dict[MessageState, list[Message]] = {}
        self._recipients: list[dict[str, object]] = []
        self._now = utcnow()

    def add(self, message: Message, now: dt.datetime) -> None:
        """Finish ``message`` (its row and its recipients' rows) at the next ``write``."""
        self._now = now
        done = sum(d.state in DONE for d in message.deliveries)
        state = MessageState.DELIVERED if done else MessageState.FAILED
        self._messages.setdefault(state, []).append(message)
        for rcpt in message.recipients:
            mine = [d for d in message.deliveries if d.rcpt_idx == rcpt.idx]
            values = {
                "state": (
                    RecipientState.DELIVERED
                    if any(d.state in DONE for d in mine)
                    else RecipientState.FAILED
                ),
                "attempts": max((d.attempts for d in mine), default=rcpt.attempts),
                "updated_at": now,
            }
            for name, value in values.items():
                set_committed_value(rcpt, name, value)
            self._recipients.append({"r_id": rcpt.id, **{f"r_{k}": v for k, v in values.items()}})

    def write(self, session: Session) -> None:
        """Write what was added, in the session's transaction (not committed)."""
        now = self._now
        for state, messages in self._messages.items():
            finished = set(
                session.execute(
                    update(_MESSAGES)
                    .where(
                        _MESSAGES.c.id.in_([m.id for m in messages]),
                        _MESSAGES.c.finished_at.is_(None),
                    )
                    .values(state=state, finished_at=now, next_attempt_at=None)
                    .returning(_MESSAGES.c.id)
                ).scalars()
            )
            final = (("state", state), ("finished_at", now), ("next_attempt_at", None))
            for message in messages:
                for name, value in final:
                    set_committed_value(message, name, value)
                if message.id in finished:
                    done = sum(d.state in DONE for d in message.deliveries)
                    total = len(message.deliveries)
                    record(session, message, "finished", f"{state}: {done}/{total}")
        if self._recipients:
            session.execute(
                update(_RECIPIENTS)
                .where(_RECIPIENTS.c.id == bindparam("r_id"))
                .values({k: bindparam(f"r_{k}") for k in ("state", "attempts", "updated_at")}),
                self._recipients,
            )
        self._messages, self._recipients = {}, []


def _finish(session: Session, message: Message, now: dt.datetime) -> None:
    """Finish one message now (``Finishes`` for a batch)."""
    finishes = Finishes()
    finishes.add(message, now)
    finishes.write(session)
