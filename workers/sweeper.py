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
slow is not delivered twice. Each sweep also removes orphaned spool files (finished or
unknown messages, older than the grace period: ``mailrs.queue.orphans``).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from celery.signals import worker_ready, worker_shutdown

from mailrs.celery import app
from mailrs.queue.canvas import SWEEP
from mailrs.queue.orphans import collect_orphans
from mailrs.queue.sweep import sweep_once
from workers.context import worker_context
from workers.dmarc_reports import send_if_due

log = logging.getLogger(__name__)


@app.task(name=SWEEP, ignore_result=True)
def sweep() -> int:
    """Celery task: one sweep with the configured grace period."""
    ctx = worker_context()
    grace = ctx.settings.celery.sweep_grace_secs
    sent = sweep_once(app, ctx.db, grace)
    collect_orphans(ctx.db, ctx.spool, grace)
    return sent


_stop = threading.Event()


def _sweep_safely(grace_secs: int) -> None:
    try:
        sweep_once(app, worker_context().db, grace_secs)
    except Exception:
        log.exception("sweeper: sweep failed")
    try:  # never with less than the configured grace: a young file may await its row
        ctx = worker_context()
        collect_orphans(ctx.db, ctx.spool, ctx.settings.celery.sweep_grace_secs)
    except Exception:
        log.exception("sweeper: orphan collection failed")
    try:
        send_if_due()
    except Exception:
        log.exception("sweeper: DMARC reports failed")


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
