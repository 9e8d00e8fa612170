"""Finding and re-publishing unfinished messages: stalled pipelines and due retries.

The worker's sweeper thread, the ``mailrs.queue.sweep`` beat task and smtpd's start-up sweep
all call ``sweep_once``. A deferred message carries its next attempt time in
``messages.next_attempt_at``; a sweep re-publishes it once that time has come. The
stages are idempotent, so a message that was only slow is not delivered twice.
"""

from __future__ import annotations

import datetime as dt
import logging

from celery import Celery
from sqlalchemy import or_, select, update

from mailrs.db.engine import Database
from mailrs.db.models import Message, utcnow
from mailrs.queue.canvas import batches, publish

log = logging.getLogger("workers.sweeper")
BATCH = 500


def unfinished_messages(db: Database, grace_secs: int) -> list[str]:
    """Queue ids of unfinished messages that are stalled or whose retry is due."""
    now = utcnow()
    cutoff = now - dt.timedelta(seconds=grace_secs)
    with db.session() as session:
        due = session.scalars(
            select(Message.queue_id)
            .where(Message.finished_at.is_(None))
            .where(Message.next_attempt_at <= now)
            .order_by(Message.next_attempt_at)
            .limit(BATCH)
        ).all()
        stalled = session.scalars(
            select(Message.queue_id)
            .where(Message.finished_at.is_(None))
            .where(Message.next_attempt_at.is_(None))
            .where(or_(Message.published_at.is_(None), Message.published_at <= cutoff))
            .order_by(Message.id)
            .limit(BATCH)
        ).all()
        return list(dict.fromkeys([*due, *stalled]))


def clear_retry(db: Database, queue_ids: list[str]) -> None:
    """The retry of these messages is on the broker now: forget its due time."""
    with db.session() as session:
        session.execute(
            update(Message)
            .where(Message.queue_id.in_(queue_ids))
            .values(next_attempt_at=None, published_at=utcnow())
        )
        session.commit()


def sweep_once(celery_app: Celery, db: Database, grace_secs: int) -> int:
    """Re-publish the pipelines of stalled messages and due retries; returns how many."""
    queue_ids = unfinished_messages(db, grace_secs)
    sent: list[str] = []
    for batch in batches(queue_ids):
        try:
            publish(celery_app, batch)
        except Exception as exc:  # broker down: try again at the next sweep
            log.warning("sweeper: cannot publish %d message(s): %s", len(batch), exc)
            break
        sent.extend(batch)
    if sent:
        clear_retry(db, sent)
        log.info("sweeper: re-published %d message(s)", len(sent))
    return len(sent)
