"""A copy of every Maildir and mailbox index, taken while the services run.

Message files never change once written (a flag change renames the file), so they are
hard-linked into the backup when it is on the same file system and copied otherwise.
Each user's index (``mailrs-index.sqlite``) is copied with SQLite's backup API *before*
the files: a message that arrives meanwhile is in the Maildir copy and gets its UID at
the next sync; one expunged meanwhile is dropped by that sync. UIDs, UIDVALIDITY and
flags recorded in the index come back as they were.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
from pathlib import Path

from mailrs.db.snapshot import copy_sqlite
from mailrs.store.index import INDEX_FILENAME

SKIPPED_SUFFIXES = ("-wal", "-shm", "-journal", ".lock")


def _index_files(base: Path) -> list[Path]:
    return sorted(base.glob(f"*/*/{INDEX_FILENAME}"))


def _link_or_copy(source: Path, target: Path) -> bool:
    """Hard-link ``source`` to ``target`` (True), or copy it when links cannot cross."""
    try:
        os.link(source, target)
        return True
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP):
            raise
    shutil.copy2(source, target)
    return False


def snapshot_maildirs(base: Path, target: Path) -> dict[str, int]:
    """Copy the indexes (backup API), then every file of the Maildir tree; counts by kind."""
    counts = {"indexes": 0, "files": 0, "linked": 0}
    target.mkdir(parents=True, exist_ok=True)
    if not base.is_dir():
        return counts
    for index in _index_files(base):
        copy_sqlite(index, target / index.relative_to(base))
        counts["indexes"] += 1
    for folder, dirs, files in os.walk(base):
        here = Path(folder)
        dest = target / here.relative_to(base)
        dest.mkdir(parents=True, exist_ok=True)
        dirs.sort()
        for name in sorted(files):
            if name == INDEX_FILENAME or (
                name.startswith(INDEX_FILENAME) and name.endswith(SKIPPED_SUFFIXES)
            ):
                continue
            if here.name == "tmp":
                continue  # deliveries under way: not messages yet
            with contextlib.suppress(FileNotFoundError):  # renamed or expunged meanwhile
                counts["linked"] += _link_or_copy(here / name, dest / name)
                counts["files"] += 1
    return counts


def restore_maildirs(source: Path, base: Path) -> int:
    """Copy a Maildir snapshot into an empty ``base``; the number of files."""
    if base.exists() and any(base.iterdir()):
        raise FileExistsError(f"{base} is not empty; restore into a fresh data directory")
    shutil.copytree(source, base, dirs_exist_ok=True)
    return sum(len(files) for _, _, files in os.walk(base))
