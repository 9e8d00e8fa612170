"""Reading a Maildir folder for the index: what files it holds, cheaply.

A folder whose ``new/`` and ``cur/`` directories have not changed since the last scan
need not be read again: their modification times are the *stamp*, trusted once they are
safely in the past. A scan only stat()s the files the index does not know yet.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from mailrs.store.filenames import INFO_SEP
from mailrs.store.maildir import StoredMessage

# A directory mtime this far in the past can be trusted: a later change moves it on
# (file system clocks tick in milliseconds; this leaves a wide margin).
STAMP_SAFETY_NS = 100_000_000


def folder_stamp(folder: Path) -> tuple[str, bool]:
    """The modification times of new/ and cur/, and whether they may be trusted."""
    times = []
    for sub in ("new", "cur"):
        try:
            times.append(os.stat(folder / sub).st_mtime_ns)
        except FileNotFoundError:
            times.append(0)
    safe = max(times) < time.time_ns() - STAMP_SAFETY_NS
    return f"{times[0]}:{times[1]}", safe


def scan_folder(folder: Path, known: dict[str, str], skip_cur: bool) -> dict[str, StoredMessage]:
    """The messages of a folder; only files the index does not know are stat'ed.

    With ``skip_cur`` (cur/ has not changed since the last scan) the index's own
    list of cur/ files is used and only new/ is read.
    """
    found: dict[str, StoredMessage] = {}
    subdirs = ("new",) if skip_cur else ("new", "cur")
    if skip_cur:
        for key, filename in known.items():
            if INFO_SEP in filename:
                flags = filename.partition(INFO_SEP)[2]
                found[key] = StoredMessage(key, filename, "cur", flags, 0, 0.0)
    for subdir in subdirs:
        try:
            names = os.listdir(folder / subdir)
        except FileNotFoundError:
            continue
        for filename in names:
            if filename.startswith("."):
                continue
            key, _, flags = filename.partition(INFO_SEP)
            if subdir == "new":
                flags = ""
            if known.get(key) is not None:
                found[key] = StoredMessage(key, filename, subdir, flags, 0, 0.0)
                continue
            try:
                stat = os.stat(folder / subdir / filename)
            except FileNotFoundError:
                continue  # renamed or removed meanwhile; the next scan sees it
            found[key] = StoredMessage(key, filename, subdir, flags, stat.st_size, stat.st_mtime)
    return found


def present_files(
    folder: Path, candidates: dict[str, set[tuple[str, str]]]
) -> dict[str, StoredMessage]:
    """Which of the candidate (subdir, file name) of each key exist now (cur/ wins, as in
    ``scan_folder``); keys with none are left out."""
    found: dict[str, StoredMessage] = {}
    for key, names in candidates.items():
        for subdir, filename in sorted(names):  # "cur" sorts before "new": keep the first
            try:
                stat = os.lstat(folder / subdir / filename)
            except FileNotFoundError:
                continue
            flags = filename.partition(INFO_SEP)[2] if subdir == "cur" else ""
            found[key] = StoredMessage(key, filename, subdir, flags, stat.st_size, stat.st_mtime)
            break
    return found


def stat_if_needed(folder: Path, message: StoredMessage) -> StoredMessage:
    """A listed message with its size and date (mtime -1 when it has vanished)."""
    if message.mtime:
        return message
    try:
        stat = os.stat(folder / message.relpath)
    except FileNotFoundError:
        return StoredMessage(message.key, message.filename, message.subdir, "", 0, -1.0)
    return StoredMessage(
        message.key,
        message.filename,
        message.subdir,
        message.flags,
        stat.st_size,
        stat.st_mtime,
    )
