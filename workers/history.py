"""A transaction's history events, written in one INSERT when it commits.

Every stage records a few events per message (validated, spam, routed, delivered,
finished); added to the session as ORM objects, each cost the unit of work's
bookkeeping at the flush (~5 % of a pipeline's CPU). They are kept instead on the
session (``session.info``) and written with one Core executemany just before the
commit's flush, in the same transaction, so they are on disk exactly when the stage's
results are; a rollback forgets them, as it would the ORM objects.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from sqlalchemy import Table, event, insert
from sqlalchemy.orm import Session

from mailrs.db.models import MessageEvent, utcnow

_EVENTS = cast(Table, MessageEvent.__table__)
_PENDING = "mailrs.history"


def add_event(session: Session, message_id: int, stage: str, detail: str) -> None:
    """Note an event to be written with the session's next commit."""
    row = {"message_id": message_id, "at": utcnow(), "stage": stage, "detail": detail}
    session.info.setdefault(_PENDING, []).append(row)


def pending_events(session: Session) -> list[dict[str, Any]]:
    """The events noted in this transaction and not written yet."""
    return list(session.info.get(_PENDING, ()))


def forget_events(session: Session, message_ids: Iterable[int]) -> None:
    """Drop the unwritten events of these messages (another runner took them)."""
    lost = set(message_ids)
    rows = session.info.get(_PENDING)
    if lost and rows:
        session.info[_PENDING] = [r for r in rows if r["message_id"] not in lost]


def write_events(session: Session) -> None:
    """Write the noted events now, in the session's transaction (one statement)."""
    rows = session.info.pop(_PENDING, None)
    if rows:
        session.execute(insert(_EVENTS), rows)


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    write_events(session)


@event.listens_for(Session, "after_transaction_end")
def _after_transaction_end(session: Session, transaction: Any) -> None:
    """A rollback or a close forgets what was not written (savepoints aside)."""
    if transaction.parent is None:
        session.info.pop(_PENDING, None)
