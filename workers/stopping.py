"""A prompt stop for an idle worker: SIGTERM with no task in flight exits at once.

Celery's warm shutdown of an idle worker (solo or prefork pool) takes seconds even
when it has nothing to do (its consuming loop polls for up to two seconds, then its
timer thread is joined), which made every ``mailrs up`` stop take 6-7 s. Once the
worker is ready this module takes over SIGTERM: with a task running or reserved (the
main process tracks every request, whatever the pool) it hands the signal to Celery's
warm shutdown, which lets the task finish; with none it ends the pool's children and
the process at once. Nothing is lost either way: tasks are ``acks_late``, so a message
taken from the broker but not yet acknowledged is delivered again (or re-published by
a sweeper), and every stage is idempotent.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from typing import Any

from celery.concurrency.solo import TaskPool as SoloPool
from celery.signals import worker_ready
from celery.worker import state


def _busy() -> bool:
    """True while a task is running or accepted by this worker."""
    return bool(state.active_requests or state.reserved_requests)


@worker_ready.connect
def _take_over_sigterm(sender: Any = None, **_: Any) -> None:
    """Install the idle-aware SIGTERM handler (worker_ready runs in the main thread)."""
    pool = getattr(sender, "pool", None)
    solo = isinstance(pool, SoloPool)
    celery_handler = signal.getsignal(signal.SIGTERM)

    def on_sigterm(signum: int, frame: Any) -> None:
        if _busy() and callable(celery_handler):
            celery_handler(signum, frame)  # warm shutdown: the task finishes first
            return
        print("worker: idle, stopping now", file=sys.__stdout__, flush=True)
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        if not solo and pool is not None:
            # A prefork pool's children hold no task (the parent tracks every request):
            # end them with the parent instead of Celery's slow warm shutdown.
            with contextlib.suppress(Exception):
                pool.terminate()
        os._exit(0)

    signal.signal(signal.SIGTERM, on_sigterm)
