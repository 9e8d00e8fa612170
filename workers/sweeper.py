"""The sweeper: re-publish every spooled message whose pipeline has not finished.

It is also the retry scheduler: a deferred message carries its next attempt time in
``messages.next_attempt_at`` (set by ``workers.progress.settle``), and the sweep
re-publishes it once that time has come, so no long wait sits in a worker's memory and
a restart loses nothing.

Each worker sweeps once when it starts (taking over whatever a dead worker left), then
every ``celery.sweep_interval_secs`` for messages nothing has happened to for
``celery.sweep_grace_secs``; ``mailrs.sweep`` does the same as a task for Celery beat.
A message accepted while the broker was down, or whose task died with a killed worker,
is found here and sent again; the stages are idempotent, so a message that was only
slow is not delivered twice.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from typing import Any

from celery import Celery
from celery.signals import worker_ready, worker_shutdown
from sqlalchemy import or_, select, update

from mailrs.celery import app
from mailrs.db import Database
from mailrs.models import Message, utcnow
from mailrs.pipeline import SWEEP, publish
from workers.context import worker_context

log = logging.getLogger(__name__)
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
    sent = []
    for queue_id in queue_ids:
        try:
            publish(celery_app, queue_id)
        except Exception as exc:  # broker down: try again at the next sweep
            log.warning("sweeper: cannot publish %s: %s", queue_id, exc)
            break
        sent.append(queue_id)
    if sent:
        clear_retry(db, sent)
        log.info("sweeper: re-published %d message(s)", len(sent))
    return len(sent)


@app.task(name=SWEEP, ignore_result=True)
def sweep() -> int:
    """Celery task: one sweep with the configured grace period."""
    ctx = worker_context()
    return sweep_once(app, ctx.db, ctx.settings.celery.sweep_grace_secs)


_stop = threading.Event()


def _sweep_safely(grace_secs: int) -> None:
    try:
        sweep_once(app, worker_context().db, grace_secs)
    except Exception:
        log.exception("sweeper: sweep failed")


def _sweep_loop(interval: float, grace_secs: int) -> None:
    """Take over what a dead worker left (no grace), then sweep every ``interval``."""
    _sweep_safely(grace_secs=0)
    while interval > 0 and not _stop.wait(interval):
        _sweep_safely(grace_secs)


@worker_ready.connect
def _start_sweeping(sender: Any = None, **_: Any) -> None:
    """Run the sweeper beside the worker, off its consuming thread."""
    settings = worker_context().settings.celery
    _stop.clear()
    threading.Thread(
        target=_sweep_loop,
        args=(settings.sweep_interval_secs, settings.sweep_grace_secs),
        name="mailrs-sweeper",
        daemon=True,
    ).start()


@worker_shutdown.connect
def _stop_sweeping(sender: Any = None, **_: Any) -> None:
    """Stop the sweeper thread with the worker."""
    _stop.set()
