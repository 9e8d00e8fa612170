"""What every task needs, made once per worker process: settings, database, store, spool."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache

from mailrs.celery import app_settings
from mailrs.config import Settings
from mailrs.db.engine import Database
from mailrs.metrics.process import setup as setup_metrics
from mailrs.queue.spool import Spool
from mailrs.store.maildir import MaildirStore


@dataclass(frozen=True)
class WorkerContext:
    """The resources of one worker process."""

    settings: Settings
    db: Database
    store: MaildirStore
    spool: Spool


@cache
def _context_for(pid: int, settings: Settings) -> WorkerContext:
    setup_metrics(settings)  # before a task counts anything (idempotent)
    return WorkerContext(
        settings=settings,
        db=Database.from_settings(settings),
        store=MaildirStore(settings.maildir_path),
        spool=Spool(settings.spool_path),
    )


def worker_context() -> WorkerContext:
    """The context of this process (a forked child gets its own connections)."""
    return _context_for(os.getpid(), app_settings())
