"""The per-user mailbox index: UIDVALIDITY, UIDs and flags, kept in step with the Maildir.

One SQLite file per user (``<maildir>/mailrs-index.sqlite``). ``sync()`` compares a
folder's files with the index: new keys get the next UIDs (oldest first), vanished keys
are dropped, flag changes are recorded with a new modseq. The index can always be
rebuilt from the Maildir; the Maildir holds the bytes and the flags.
Blocking: async callers run it in a thread.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass

from mailrs.mailbox_names import normalize_mailbox_name
from mailrs.maildir import MaildirStore, StoredMessage

INDEX_FILENAME = "mailrs-index.sqlite"

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
"""


@dataclass(frozen=True)
class IndexedMessage:
    """A message as the index knows it: UID, key, current file name and flags."""

    uid: int
    key: str
    filename: str
    flags: str
    size: int
    internaldate: float
    modseq: int

    @property
    def relpath(self) -> str:
        """Path relative to the folder directory."""
        return ("cur/" if ":2," in self.filename else "new/") + self.filename


@dataclass(frozen=True)
class MailboxState:
    """A synchronised snapshot of one mailbox."""

    name: str
    uidvalidity: int
    uidnext: int
    highestmodseq: int
    messages: list[IndexedMessage]


class MailIndex:
    """The index of one user's mailboxes."""

    def __init__(self, store: MaildirStore, address: str) -> None:
        self.store = store
        self.address = address
        self.path = store.user_dir(address) / INDEX_FILENAME
        self._db: sqlite3.Connection | None = None

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            db = sqlite3.connect(
                self.path, timeout=30, isolation_level=None, check_same_thread=False
            )
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(_SCHEMA)
            self._db = db
        return self._db

    def close(self) -> None:
        """Close the SQLite connection."""
        if self._db is not None:
            self._db.close()
            self._db = None

    def sync(self, mailbox: str) -> MailboxState:
        """Bring the index of one mailbox in line with its folder and return it."""
        name = normalize_mailbox_name(mailbox)
        folder = self.store.folder_path(self.address, name)
        on_disk = {m.key: m for m in MaildirStore.scan(folder)}
        db = self._conn()
        db.execute("BEGIN IMMEDIATE")
        try:
            state = self._sync_locked(db, name, on_disk)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return state

    def _sync_locked(
        self, db: sqlite3.Connection, name: str, on_disk: dict[str, StoredMessage]
    ) -> MailboxState:
        row = db.execute(
            "SELECT uidvalidity, uidnext, highestmodseq FROM mailboxes WHERE name = ?", (name,)
        ).fetchone()
        if row is None:
            uidvalidity = int(time.time())
            db.execute(
                "INSERT INTO mailboxes (name, uidvalidity, uidnext, highestmodseq)"
                " VALUES (?, ?, 1, 1)",
                (name, uidvalidity),
            )
            row = (uidvalidity, 1, 1)
        uidvalidity, uidnext, modseq = row
        indexed = {
            r[1]: r
            for r in db.execute(
                "SELECT uid, key, filename, flags FROM messages WHERE mailbox = ?", (name,)
            )
        }
        changed = False
        for key, (uid, _key, filename, flags) in indexed.items():
            current = on_disk.get(key)
            if current is None:
                db.execute("DELETE FROM messages WHERE mailbox = ? AND uid = ?", (name, uid))
                changed = True
            elif current.filename != filename or current.flags != flags:
                modseq += 1
                db.execute(
                    "UPDATE messages SET filename = ?, flags = ?, modseq = ?"
                    " WHERE mailbox = ? AND uid = ?",
                    (current.filename, current.flags, modseq, name, uid),
                )
                changed = True
        new = sorted(
            (m for k, m in on_disk.items() if k not in indexed), key=lambda m: (m.mtime, m.key)
        )
        for message in new:
            modseq += 1
            db.execute(
                "INSERT INTO messages"
                " (mailbox, uid, key, filename, flags, size, internaldate, modseq)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    name,
                    uidnext,
                    message.key,
                    message.filename,
                    message.flags,
                    message.size,
                    message.mtime,
                    modseq,
                ),
            )
            uidnext += 1
            changed = True
        if changed:
            db.execute(
                "UPDATE mailboxes SET uidnext = ?, highestmodseq = ? WHERE name = ?",
                (uidnext, modseq, name),
            )
        messages = [
            IndexedMessage(*r)
            for r in db.execute(
                "SELECT uid, key, filename, flags, size, internaldate, modseq FROM messages"
                " WHERE mailbox = ? ORDER BY uid",
                (name,),
            )
        ]
        return MailboxState(name, uidvalidity, uidnext, modseq, messages)
