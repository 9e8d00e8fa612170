"""Spool files nothing will ever read again, found and removed by the sweeper.

A spool file is an orphan when its message is finished (its removal after the finish
failed, or the process died in between) or has no row at all (a row deleted by ``mailrs
queue delete`` while its file stayed, a crash between a write and a failed commit), and
it is older than a grace period: a file younger than that may belong to a message whose
row is being committed right now. Leftovers in ``tmp/`` (a crash between write and
rename) older than the grace period are orphans too.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from mailrs.db.engine import Database
from mailrs.db.models import Message
from mailrs.queue.spool import Spool, is_queue_id

log = logging.getLogger("workers.sweeper")
CHUNK = 500


@dataclass(frozen=True)
class Orphan:
    """One spool file that no unfinished message needs."""

    path: Path
    queue_id: str
    reason: str  # "finished", "no message", "unfinished write"
    age_secs: float
    size: int


def _aged(folder: Path, cutoff: float) -> list[tuple[Path, float, int]]:
    """(path, mtime, size) of the files in ``folder`` last changed before ``cutoff``."""
    found = []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return []
    for path in entries:
        try:
            info = path.stat()
        except OSError:
            continue  # removed meanwhile
        if info.st_mtime <= cutoff:
            found.append((path, info.st_mtime, info.st_size))
    return found


def find_orphans(db: Database, spool: Spool, grace_secs: float) -> list[Orphan]:
    """Spool files older than ``grace_secs`` whose message is finished or absent."""
    now = time.time()
    cutoff = now - grace_secs
    candidates: dict[str, tuple[Path, float, int]] = {}
    for path, mtime, size in _aged(spool.queue_dir, cutoff):
        queue_id = path.name.removesuffix(".eml")
        if path.name.endswith(".eml") and is_queue_id(queue_id):
            candidates[queue_id] = (path, mtime, size)
    orphans = [
        Orphan(path, path.name, "unfinished write", now - mtime, size)
        for path, mtime, size in _aged(spool.tmp_dir, cutoff)
    ]
    ids = sorted(candidates)
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        with db.session() as session:
            rows = dict(
                session.execute(
                    select(Message.queue_id, Message.finished_at).where(Message.queue_id.in_(chunk))
                ).all()
            )
        for queue_id in chunk:
            if queue_id in rows and rows[queue_id] is None:
                continue  # unfinished: the pipeline still needs it
            path, mtime, size = candidates[queue_id]
            reason = "finished" if queue_id in rows else "no message"
            orphans.append(Orphan(path, queue_id, reason, now - mtime, size))
    return orphans


def collect_orphans(db: Database, spool: Spool, grace_secs: float) -> int:
    """Remove the orphaned spool files; returns how many were removed."""
    removed = 0
    for orphan in find_orphans(db, spool, grace_secs):
        try:
            orphan.path.unlink(missing_ok=True)
        except OSError as exc:
            log.warning("sweeper: cannot remove orphan spool file %s: %s", orphan.path, exc)
            continue
        removed += 1
    if removed:
        log.info("sweeper: removed %d orphaned spool file(s)", removed)
    return removed
