"""The SQLite file of the mailbox index: its schema, upgrades in place, write transactions.

Opened in WAL mode with ``synchronous=NORMAL`` (the index can always be rebuilt from
the Maildir, so a commit need not wait for the disk). Columns added since the first
release are added on open; a damaged file is set aside and a fresh one started.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mailrs.store import fulltext

_SCHEMA = """
CREATE TABLE IF NOT EXISTS mailboxes (
    name TEXT PRIMARY KEY,
    uidvalidity INTEGER NOT NULL,
    uidnext INTEGER NOT NULL,
    highestmodseq INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS messages (
    mailbox TEXT NOT NULL,
    uid INTEGER NOT NULL,
    key TEXT NOT NULL,
    filename TEXT NOT NULL,
    flags TEXT NOT NULL,
    size INTEGER NOT NULL,
    internaldate REAL NOT NULL,
    modseq INTEGER NOT NULL,
    PRIMARY KEY (mailbox, uid),
    UNIQUE (mailbox, key)
);
CREATE TABLE IF NOT EXISTS subscriptions (name TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS vanished (
    mailbox TEXT NOT NULL,
    uid INTEGER NOT NULL,
    modseq INTEGER NOT NULL,
    PRIMARY KEY (mailbox, uid)
);
"""
_ADDED_COLUMNS = (
    ("messages", "keywords", "TEXT NOT NULL DEFAULT ''"),
    ("mailboxes", "scan_stamp", "TEXT NOT NULL DEFAULT ''"),
    ("messages", "zone", "INTEGER"),
    ("messages", "recent", "INTEGER NOT NULL DEFAULT 0"),
    ("mailboxes", "vanished_from", "INTEGER NOT NULL DEFAULT 0"),
    ("content", "parts_known", "INTEGER NOT NULL DEFAULT 0"),
)
# Run once, right after a column is added to an existing file: the expunges before
# this upgrade were not recorded, so the record of each mailbox starts at its modseq now.
_ON_ADD = {"vanished_from": "UPDATE mailboxes SET vanished_from = highestmodseq"}


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(_SCHEMA + fulltext.SCHEMA)
        for table, column, kind in _ADDED_COLUMNS:
            present = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
            if column not in present:
                db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
                if column in _ON_ADD:
                    db.execute(_ON_ADD[column])
    except BaseException:
        db.close()
        raise
    return db


def set_aside(path: Path) -> None:
    """Keep a damaged index file beside the new one (``.broken-<time>``)."""
    if path.exists():
        path.rename(path.with_suffix(f".broken-{int(time.time())}"))


def open_index(path: Path) -> sqlite3.Connection:
    """A connection to the index file at ``path``, created or upgraded as needed.

    Under the writers' lock: switching a new file to WAL and creating or upgrading its
    schema write to it, and two processes doing that at once could meet SQLite's
    "database is locked" (the journal-mode switch does not wait on the busy handler).
    """
    with writer_lock(path):
        try:
            return _connect(path)
        except sqlite3.DatabaseError as exc:
            if type(exc) is not sqlite3.DatabaseError:  # locked, unreadable: not damage
                raise
            set_aside(path)  # a damaged file: start afresh from the Maildir
            return _connect(path)


LOCK_SUFFIX = ".lock"  # beside the index file: the writers' lock between processes


class WriterLock:
    """Whoever writes to one index file: the threads of this process queue on a lock,
    and the one holding it takes an exclusive ``flock`` on ``<index>.lock`` as well.

    SQLite's busy handler waits for a writer by sleeping (up to 100 ms a try), so under
    concurrent sessions a writer could sleep long after the lock came free; here a
    waiter starts the moment the lock is released, whether the holder is a thread of
    this process or another process (several imapd processes, delivery, the web app).
    The ``flock`` is taken by the thread about to write (never on an event loop: index
    writes run in threads), on a descriptor of its own opened for this transaction, and
    the kernel drops it if the process dies. Re-entrant within one thread.
    """

    def __init__(self, path: Path) -> None:
        self._lock_path = path.with_name(path.name + LOCK_SUFFIX)
        self._lock = threading.RLock()
        self._depth = 0  # changed only by the thread holding _lock
        self._fd = -1

    def __enter__(self) -> None:
        self._lock.acquire()
        try:
            if self._depth == 0:
                self._fd = _locked_file(self._lock_path)
            self._depth += 1
        except BaseException:
            self._lock.release()
            raise

    def __exit__(self, *_exc: object) -> None:
        try:
            self._depth -= 1
            if self._depth == 0:
                fd, self._fd = self._fd, -1
                if fd >= 0:
                    os.close(fd)  # the flock goes with the last descriptor of its open file
        finally:
            self._lock.release()


def _locked_file(path: Path) -> int:
    """A descriptor of ``path`` holding an exclusive flock; -1 when its folder is missing
    (then there is no index to write either, and SQLite says so)."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except FileNotFoundError:
        return -1
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
    except BaseException:
        os.close(fd)
        raise
    return fd


_WRITER_LOCKS: dict[str, WriterLock] = {}
_WRITER_LOCKS_GUARD = threading.Lock()


def writer_lock(path: Path) -> WriterLock:
    """The lock to hold while writing to the index at ``path`` (``WriterLock``)."""
    key = str(path)
    with _WRITER_LOCKS_GUARD:
        lock = _WRITER_LOCKS.get(key)
        if lock is None:
            lock = _WRITER_LOCKS[key] = WriterLock(path)
        return lock


@contextmanager
def write_transaction(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on any error)."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
