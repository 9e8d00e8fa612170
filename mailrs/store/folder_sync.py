"""Making new names in a folder durable: fsync of the folder, alone or once for a batch."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path


def fsync_dir(path: Path) -> None:
    """fsync a folder, so the names created or removed in it so far are on disk."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sync_folders(folders: Iterable[Path]) -> dict[Path, OSError]:
    """fsync each folder once (the names linked into it become durable); the failures."""
    failed: dict[Path, OSError] = {}
    for folder in dict.fromkeys(folders):
        try:
            fsync_dir(folder)
        except OSError as exc:
            failed[folder] = exc
    return failed
