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
from sqlalchemy import or_, select

from mailrs.db.engine import Database
from mailrs.db.models import Message, utcnow
from mailrs.queue.publish import publish_and_mark

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


def sweep_once(celery_app: Celery, db: Database, grace_secs: int) -> int:
    """Re-publish the pipelines of stalled messages and due retries; returns how many."""
    published = publish_and_mark(celery_app, db, unfinished_messages(db, grace_secs))
    if published.unsent:  # broker down: try again at the next sweep
        log.warning(
            "sweeper: cannot publish %d message(s): %s", len(published.unsent), published.error
        )
    if published.sent:
        log.info("sweeper: re-published %d message(s)", len(published.sent))
    return len(published.sent)
