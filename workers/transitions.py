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
from typing import Any, cast

from sqlalchemy import Table, bindparam, inspect, tuple_, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from mailrs.db.models import Delivery, Message
from mailrs.queue.states import DeliveryState, MessageState
from workers.history import forget_events

_MESSAGES = cast(Table, Message.__table__)
_DELIVERIES = cast(Table, Delivery.__table__)
_MESSAGE_COLUMNS = frozenset(_MESSAGES.columns.keys())


def _changes(message: Message) -> dict[str, Any]:
    """The columns of ``message`` changed since it was loaded, with their new values."""
    return {
        attr.key: attr.value
        for attr in inspect(message).attrs
        if attr.key in _MESSAGE_COLUMNS and attr.history.has_changes()
    }


def _commit_values(obj: object, values: dict[str, Any]) -> None:
    """Make ``values`` the object's committed state (nothing left for the ORM to flush)."""
    for name, value in values.items():
        set_committed_value(obj, name, value)


def _move(session: Session, ids: list[int], loaded: MessageState, to: MessageState) -> set[int]:
    """One ``UPDATE … SET state = to WHERE id IN ids AND state = loaded``; the ids it moved."""
    if not ids:
        return set()
    with session.no_autoflush:  # nothing of these messages may reach a row before the check
        moved = session.execute(
            update(_MESSAGES)
            .where(_MESSAGES.c.id.in_(ids), _MESSAGES.c.state == loaded)
            .values(state=to)
            .returning(_MESSAGES.c.id)
        )
        return set(moved.scalars())


def advance_all(
    session: Session, messages: Iterable[Message], loaded: MessageState, to: MessageState
) -> set[int]:
    """Move messages from ``loaded`` to ``to`` where no one else has; the ids this runner moved.

    One statement for the batch; the moved messages' objects say ``to`` afterwards.
    """
    batch = list(messages)
    won = _move(session, [m.id for m in batch], loaded, to)
    for message in batch:
        if message.id in won:
            set_committed_value(message, "state", to)
    return won


def advance(session: Session, message: Message, loaded: MessageState, to: MessageState) -> bool:
    """Move one message from ``loaded`` to ``to`` if no one else has; True if this runner did."""
    return bool(advance_all(session, [message], loaded, to))


def drop_events(session: Session, message_ids: Iterable[int]) -> None:
    """Forget the unwritten history events of messages another runner took."""
    forget_events(session, message_ids)


def claim_deliveries(
    session: Session, deliveries: Iterable[Delivery], now: dt.datetime
) -> list[Delivery]:
    """Mark deliveries "delivering" (one more attempt) where still as loaded; the ones won.

    A delivery counts as claimed only if its row still has the state and attempt count
    this runner loaded, so of two runners that loaded it the same, one gets it. One
    statement for the batch.
    """
    batch = list(deliveries)
    if not batch:
        return []
    key = tuple_(_DELIVERIES.c.id, _DELIVERIES.c.state, _DELIVERIES.c.attempts)
    with session.no_autoflush:
        claimed = session.execute(
            update(_DELIVERIES)
            .where(key.in_([(d.id, d.state, d.attempts) for d in batch]))
            .values(
                state=DeliveryState.DELIVERING,
                attempts=_DELIVERIES.c.attempts + 1,
                updated_at=now,
            )
            .returning(_DELIVERIES.c.id)
        )
        won = set(claimed.scalars())
    for delivery in batch:
        if delivery.id in won:
            _commit_values(
                delivery,
                {
                    "state": DeliveryState.DELIVERING,
                    "attempts": delivery.attempts + 1,
                    "updated_at": now,
                },
            )
    return [d for d in batch if d.id in won]


def commit_stage(
    session: Session, messages: Iterable[Message], loaded: dict[int, MessageState]
) -> list[Message]:
    """Commit a stage's results for the messages that moved, each only over what was loaded.

    ``loaded``: each message's state when the stage loaded it. One UPDATE … RETURNING
    per (loaded, new) state pair claims the moves, then one executemany writes the other
    changed columns of the messages won. Returns them; another runner's are left as that
    runner wrote them (and this runner's history events for them are dropped).
    """
    moved = [m for m in messages if m.state != loaded[m.id]]  # the others were skipped
    pairs: dict[tuple[MessageState, MessageState], list[Message]] = {}
    for message in moved:
        pairs.setdefault((loaded[message.id], message.state), []).append(message)
    won_ids: set[int] = set()
    for (before, after), group in pairs.items():
        won_ids |= _move(session, [m.id for m in group], before, after)
    rows: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for message in moved:
        changes = _changes(message)
        _commit_values(message, changes)
        changes.pop("state", None)
        if message.id in won_ids and changes:
            row = {f"v_{name}": value for name, value in changes.items()}
            rows.setdefault(tuple(sorted(changes)), []).append({"v_id": message.id, **row})
    with session.no_autoflush:
        for names, params in rows.items():
            session.execute(
                update(_MESSAGES)
                .where(_MESSAGES.c.id == bindparam("v_id"))
                .values({name: bindparam(f"v_{name}") for name in names}),
                params,
            )
    drop_events(session, (m.id for m in moved if m.id not in won_ids))
    session.commit()
    return [m for m in moved if m.id in won_ids]
