"""Finding and re-publishing unfinished messages: stalled pipelines and due retries.

The worker's sweeper thread, the ``mailrs.sweep`` beat task and smtpd's start-up sweep
all call ``sweep_once``. A deferred message carries its next attempt time in
``messages.next_attempt_at``; a sweep re-publishes it once that time has come. So does
a message whose publication failed (the broker was down: ``mailrs.queue.publish`` marks
it due at once).

A message that was never published is taken only once it is ``HANDOFF_SECS`` old,
whatever the grace asked for: its receiver publishes it a moment after the commit, so a
younger one is still in that receiver's hands (a sweep that took it would start a second
pipeline beside the receiver's). An older one was left by a receiver that died between
its commit and its publish. The stages are idempotent and claim each message and each
stage (``mailrs.queue.claims``, compare-and-set transitions), so a message that was only
slow is not delivered twice even when a sweep does re-publish it.
"""

from __future__ import annotations

import datetime as dt
import logging

from celery import Celery
from sqlalchemy import and_, or_, select

from mailrs.db.engine import Database
from mailrs.db.models import Message, utcnow
from mailrs.queue.publish import publish_and_mark

log = logging.getLogger("workers.sweeper")
BATCH = 500
HANDOFF_SECS = 10
"""How long a receiver may take from its commit to its publish before a sweep steps in."""


def unfinished_messages(
    db: Database, grace_secs: int, handoff_secs: float = HANDOFF_SECS
) -> list[str]:
    """Queue ids of unfinished messages that are stalled or whose retry is due.

    Stalled: published more than ``grace_secs`` ago, or never published and received
    more than ``handoff_secs`` ago.
    """
    now = utcnow()
    cutoff = now - dt.timedelta(seconds=grace_secs)
    orphaned = now - dt.timedelta(seconds=handoff_secs)
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
            .where(
                or_(
                    and_(Message.published_at.is_(None), Message.received_at <= orphaned),
                    Message.published_at <= cutoff,
                )
            )
            .order_by(Message.id)
            .limit(BATCH)
        ).all()
        return list(dict.fromkeys([*due, *stalled]))


def sweep_once(
    celery_app: Celery, db: Database, grace_secs: int, handoff_secs: float = HANDOFF_SECS
) -> int:
    """Re-publish the pipelines of stalled messages and due retries; returns how many."""
    published = publish_and_mark(celery_app, db, unfinished_messages(db, grace_secs, handoff_secs))
    if published.unsent:  # broker down: try again at the next sweep
        log.warning(
            "sweeper: cannot publish %d message(s): %s", len(published.unsent), published.error
        )
    if published.sent:
        log.info("sweeper: re-published %d message(s)", len(published.sent))
    return len(published.sent)
