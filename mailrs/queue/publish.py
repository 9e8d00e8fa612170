"""Publish the pipelines of committed messages, then mark their rows: the one way to do it.

smtpd's hand-off, sending from the web, the bounce stage (for the DSNs it made), the
sweeper and ``mailrs queue retry`` / ``flush`` all call ``publish_and_mark``, always after
the messages' rows are committed. The
pipelines go out as chains of up to ``MAX_BATCH`` messages (``mailrs.queue.canvas``); the
first chain the broker refuses stops the run (the broker is down: the messages are safe
in the spool and the sweeper sends them later). One UPDATE then marks every message
that went out: ``published_at`` is now, and a retry that was due when publishing began
is forgotten; a retry scheduled since (a fast worker already deferred the message
again) is kept. The messages the broker refused and that were never published are
marked due now, so the next sweep (smtpd's start-up sweep too) takes them at once
instead of waiting for ``mailrs.queue.sweep.HANDOFF_SECS``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import case, null, update

from mailrs.db.engine import Database
from mailrs.db.models import Message, utcnow
from mailrs.queue.canvas import batches, publish

if TYPE_CHECKING:
    from celery import Celery

log = logging.getLogger("mailrs.queue")


@dataclass(frozen=True)
class Published:
    """What one ``publish_and_mark`` did."""

    sent: tuple[str, ...]
    unsent: tuple[str, ...] = ()
    error: Exception | None = None  # why ``unsent`` did not go (the broker's error)
    marked: bool = True  # False when the rows of ``sent`` could not be marked


def publish_and_mark(celery_app: Celery, db: Database, queue_ids: Sequence[str]) -> Published:
    """Send the pipelines of committed messages, then mark the sent ones published."""
    started = utcnow()
    ids = list(dict.fromkeys(queue_ids))
    sent: list[str] = []
    error: Exception | None = None
    for batch in batches(ids):
        try:
            publish(celery_app, batch)
        except Exception as exc:  # broker down: the sweeper publishes them later
            error = exc
            break
        sent.extend(batch)
    marked = True
    if sent:
        try:
            _mark_published(db, sent, started)
        except Exception as exc:  # they are on the broker; a sweep may publish them again
            log.warning("cannot mark %d message(s) published: %s", len(sent), exc)
            marked = False
    if len(sent) < len(ids):
        try:
            _mark_due(db, ids[len(sent) :])
        except Exception as exc:  # the sweep still finds them once HANDOFF_SECS old
            log.warning("cannot mark %d unpublished message(s) due: %s", len(ids) - len(sent), exc)
    return Published(tuple(sent), tuple(ids[len(sent) :]), error, marked)


def _mark_published(db: Database, queue_ids: list[str], started: dt.datetime) -> None:
    """``published_at`` = now; a due time up to ``started`` is cleared, a later one kept.

    On a plain connection, as Core: the ORM session's bulk-update path (which looks for
    objects to synchronise) cost twice as much, and this runs for every batch smtpd publishes.
    """
    due_then = Message.next_attempt_at <= started
    with db.engine.begin() as connection:
        connection.execute(
            update(Message)
            .where(Message.queue_id.in_(queue_ids))
            .values(
                published_at=utcnow(),
                next_attempt_at=case((due_then, null()), else_=Message.next_attempt_at),
            )
        )


def _mark_due(db: Database, queue_ids: list[str]) -> None:
    """Messages never published and not scheduled: due now (a sweep takes them at once)."""
    with db.engine.begin() as connection:
        connection.execute(
            update(Message)
            .where(
                Message.queue_id.in_(queue_ids),
                Message.published_at.is_(None),
                Message.next_attempt_at.is_(None),
                Message.finished_at.is_(None),
            )
            .values(next_attempt_at=utcnow())
        )
