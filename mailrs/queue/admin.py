"""What an administrator does to the queue, shared by ``mailrs queue`` and the web admin
area: find, list, retry (republish now) and delete messages."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from mailrs.config import Settings
from mailrs.db.engine import Database
from mailrs.db.models import Message, utcnow
from mailrs.queue.spool import Spool, is_queue_id


class NotInQueue(LookupError):
    """No message with that queue id (or the text is not a queue id)."""


@dataclass(frozen=True)
class Retried:
    """The outcome of a retry: how many were sent to the broker, and a sentence for people."""

    sent: int
    summary: str


def find_message(session: Session, queue_id: str) -> Message:
    """One message with its recipients, deliveries, attempts and history; NotInQueue if none."""
    if not is_queue_id(queue_id.upper()):
        raise NotInQueue(f"{queue_id!r} is not a queue id")
    message = session.scalar(
        select(Message)
        .where(Message.queue_id == queue_id.upper())
        .options(
            selectinload(Message.recipients),
            selectinload(Message.deliveries),
            selectinload(Message.attempt_log),
            selectinload(Message.events),
        )
    )
    if message is None:
        raise NotInQueue(f"no message {queue_id} in the queue")
    return message


def list_messages(session: Session, show_all: bool = False, limit: int = 200) -> list[Message]:
    """Queued messages, oldest first (finished ones too with ``show_all``)."""
    query = select(Message).options(selectinload(Message.deliveries)).order_by(Message.id)
    if not show_all:
        query = query.where(Message.finished_at.is_(None))
    return list(session.scalars(query.limit(limit)))


def unfinished_ids(session: Session) -> list[str]:
    """The queue id of every message whose pipeline has not finished."""
    return list(session.scalars(select(Message.queue_id).where(Message.finished_at.is_(None))))


def republish(settings: Settings, db: Database, queue_ids: list[str]) -> Retried:
    """Make these messages due now and hand them to the broker (or to the next sweep)."""
    from mailrs.celery import configure
    from mailrs.queue.publish import publish_and_mark

    with db.session() as session:
        session.execute(
            update(Message).where(Message.queue_id.in_(queue_ids)).values(next_attempt_at=utcnow())
        )
        session.commit()
    published = publish_and_mark(configure(settings), db, queue_ids)
    if published.error is not None:  # the broker is down: the sweeper sends them when it is back
        error = type(published.error).__name__
        done = f"{len(published.sent)} sent, " if published.sent else ""
        summary = f"{done}broker unreachable ({error}); the next sweep will retry"
        return Retried(len(published.sent), summary)
    return Retried(len(published.sent), "sent to the workers")


def delete_message(session: Session, spool: Spool, queue_id: str) -> str:
    """Remove a message for good (no delivery, no bounce); returns its queue id."""
    message = find_message(session, queue_id)
    qid = message.queue_id
    session.delete(message)
    session.commit()
    spool.remove(qid)
    return qid
