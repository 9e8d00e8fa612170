"""Compare-and-set transitions: a stage writes its results only over what it loaded.

Each stage loads its messages, works, then writes with ``UPDATE … WHERE state = <the
state it loaded>`` (deliveries: the state and attempt count it loaded). When another
runner of the same message got there first the UPDATE matches no row: this runner
drops what it made for that message (its history events too) and leaves it to the
winner. On PostgreSQL the second UPDATE waits for the first transaction and then
finds the row changed; on SQLite the first write of a transaction waits for the
database's write lock and then reads the committed row. The per-message claims
(``mailrs.queue.claims``) keep two runners apart in the first place; these keep a
stage from running twice where a claim cannot reach.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import inspect, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from mailrs.db.models import Delivery, Message, MessageEvent
from mailrs.queue.states import DeliveryState, MessageState

_MESSAGE_COLUMNS = frozenset(Message.__table__.columns.keys())


def write_if_unchanged(session: Session, message: Message, loaded: MessageState) -> bool:
    """Write ``message``'s changed columns if its row is still in ``loaded``; True if so.

    The changes become the object's committed state either way (nothing is left for
    the ORM to flush); on False the caller must not act on them.
    """
    changes = {
        attr.key: attr.value
        for attr in inspect(message).attrs
        if attr.key in _MESSAGE_COLUMNS and attr.history.has_changes()
    }
    if not changes:
        return True
    with session.no_autoflush:  # nothing of this message may reach the row before the check
        result = session.execute(
            update(Message)
            .where(Message.id == message.id, Message.state == loaded)
            .values(changes),
            execution_options={"synchronize_session": False},
        )
    for name, value in changes.items():
        set_committed_value(message, name, value)
    return bool(getattr(result, "rowcount", 1))


def advance(session: Session, message: Message, loaded: MessageState, to: MessageState) -> bool:
    """Move a message from ``loaded`` to ``to`` if no one else has; True if this runner did."""
    message.state = to
    return write_if_unchanged(session, message, loaded)


def drop_events(session: Session, message_ids: Iterable[int]) -> None:
    """Forget the unflushed history events of messages another runner took."""
    lost = set(message_ids)
    for obj in list(session.new):
        if isinstance(obj, MessageEvent) and obj.message_id in lost:
            session.expunge(obj)


def claim_deliveries(
    session: Session, deliveries: Iterable[Delivery], now: dt.datetime
) -> list[Delivery]:
    """Mark deliveries "delivering" (one more attempt) where still as loaded; the ones won.

    A delivery counts as claimed only if its row still has the state and attempt count
    this runner loaded, so of two runners that loaded it the same, one gets it.
    """
    won = []
    for delivery in deliveries:
        with session.no_autoflush:
            result = session.execute(
                update(Delivery)
                .where(
                    Delivery.id == delivery.id,
                    Delivery.state == delivery.state,
                    Delivery.attempts == delivery.attempts,
                )
                .values(
                    state=DeliveryState.DELIVERING, attempts=delivery.attempts + 1, updated_at=now
                ),
                execution_options={"synchronize_session": False},
            )
        if getattr(result, "rowcount", 1):
            set_committed_value(delivery, "state", DeliveryState.DELIVERING)
            set_committed_value(delivery, "attempts", delivery.attempts + 1)
            set_committed_value(delivery, "updated_at", now)
            won.append(delivery)
    return won


def commit_stage(
    session: Session, messages: Iterable[Message], loaded: dict[int, MessageState]
) -> list[Message]:
    """Commit a stage's results for the messages that moved, each only over what was loaded.

    ``loaded``: each message's state when the stage loaded it. Returns the messages this
    runner moved; another runner's are left as that runner wrote them.
    """
    won: list[Message] = []
    lost: list[Message] = []
    for message in messages:
        if message.state == loaded[message.id]:
            continue  # the stage skipped it (e.g. its spool file is missing)
        (won if write_if_unchanged(session, message, loaded[message.id]) else lost).append(message)
    drop_events(session, (m.id for m in lost))
    session.commit()
    return won
