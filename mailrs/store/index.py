"""The per-user mailbox index: UIDVALIDITY, UIDs, flags, modseq and a full-text index.

One SQLite file per user (``<maildir>/mailrs-index.sqlite``). ``sync()`` compares a
folder's files with the index: new keys get the next UIDs (oldest first), vanished keys
are dropped, flag changes are recorded with a new modseq. A folder whose ``new/`` and
``cur/`` directories have not changed since the last scan is not scanned again (their
modification times are remembered once they are safely in the past). Keywords (IMAP
flags with no Maildir letter) and subscriptions live only here. Parsed content (sent
date, search text in an FTS5 trigram index) is filled in lazily, when a search needs it.

The index can always be rebuilt from the Maildir (``rebuild``), keeping the UIDs of the
messages it still knows; the Maildir holds the bytes and the flags.
Blocking: async callers run it in a thread.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from mailrs.store.maildir import INFO_SEP, MaildirStore, StoredMessage
from mailrs.store.names import DELIMITER, INBOX, normalize_mailbox_name

INDEX_FILENAME = "mailrs-index.sqlite"
UIDVALIDITY_FILENAME = "mailrs-uidvalidity"
# A directory mtime this far in the past can be trusted: a later change moves it on
# (file system clocks tick in milliseconds; this leaves a wide margin).
STAMP_SAFETY_NS = 100_000_000
STATE_CACHE_SIZE = 8  # mailboxes; each holds its message list
# (index path, mailbox) -> ((scan stamp, highestmodseq, uidnext), state); shared by the
# sessions of one process so a SELECT of an unchanged mailbox costs no query of all rows.
_STATE_CACHE: dict[tuple[str, str], tuple[tuple[str, int, int], MailboxState]] = {}
_STATE_CACHE_LOCK = threading.Lock()

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
CREATE TABLE IF NOT EXISTS content (
    id INTEGER PRIMARY KEY,
    mailbox TEXT NOT NULL,
    uid INTEGER NOT NULL,
    sent REAL,
    UNIQUE (mailbox, uid)
);
CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(
    hfrom, hto, hcc, hbcc, subject, headers, body, tokenize = 'trigram'
);
"""
_ADDED_COLUMNS = (
    ("messages", "keywords", "TEXT NOT NULL DEFAULT ''"),
    ("mailboxes", "scan_stamp", "TEXT NOT NULL DEFAULT ''"),
    ("messages", "zone", "INTEGER"),
    ("messages", "recent", "INTEGER NOT NULL DEFAULT 0"),
)
FTS_COLUMNS = ("hfrom", "hto", "hcc", "hbcc", "subject", "headers", "body")


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
    keywords: str = ""  # space-separated IMAP keywords
    zone: int | None = None  # INTERNALDATE's zone (minutes east of UTC) when APPEND gave one

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
    # None: ``messages`` is the whole mailbox. Otherwise ``messages`` holds only what
    # changed since a given modseq and ``uids`` lists every message now there.
    uids: list[int] | None = None


@dataclass(frozen=True)
class MailboxStatus:
    """The counters of a mailbox, without its message list."""

    name: str
    uidvalidity: int
    uidnext: int
    highestmodseq: int
    messages: int
    unseen: int
    recent: int
    size: int


@dataclass(frozen=True)
class Content:
    """What a search needs from a message's bytes."""

    sent: float | None
    hfrom: str
    hto: str
    hcc: str
    hbcc: str
    subject: str
    headers: str
    body: str


_MESSAGE_COLUMNS = "uid, key, filename, flags, size, internaldate, modseq, keywords, zone"


def merge_letters(mode: str, current: str, given: str) -> str:
    """Maildir flag letters after ``+`` (add), ``-`` (remove) or "" (replace; P is kept)."""
    if mode == "+":
        merged = set(current) | set(given)
    elif mode == "-":
        merged = set(current) - set(given)
    else:
        merged = set(given) | ({"P"} & set(current))
    return "".join(sorted(merged))


def merge_keywords(mode: str, current: str, given: str) -> str:
    """Space-separated keywords after ``+``, ``-`` or "" (replace); case-insensitive."""
    have = {k.lower(): k for k in current.split()}
    new = {k.lower(): k for k in given.split()}
    if mode == "+":
        have.update({k: v for k, v in new.items() if k not in have})
    elif mode == "-":
        have = {k: v for k, v in have.items() if k not in new}
    else:
        have = new
    return " ".join(have.values())


class MailIndex:
    """The index of one user's mailboxes."""

    def __init__(self, store: MaildirStore, address: str) -> None:
        self.store = store
        self.address = address
        self.path = store.user_dir(address) / INDEX_FILENAME
        self._db: sqlite3.Connection | None = None

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            try:
                self._db = self._open()
            except sqlite3.DatabaseError as exc:
                if type(exc) is not sqlite3.DatabaseError:  # locked, unreadable: not damage
                    raise
                # A damaged file: keep it aside and start afresh from the Maildir.
                if self.path.exists():
                    self.path.rename(self.path.with_suffix(f".broken-{int(time.time())}"))
                self._db = self._open()
        return self._db

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(_SCHEMA)
            for table, column, kind in _ADDED_COLUMNS:
                present = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
                if column not in present:
                    db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
        except BaseException:
            db.close()
            raise
        return db

    def close(self) -> None:
        """Close the SQLite connection."""
        if self._db is not None:
            self._db.close()
            self._db = None

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        db = self._conn()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    # -- synchronising with the Maildir ---------------------------------------------------

    @staticmethod
    def _stamp(folder: Path) -> tuple[str, bool]:
        """The modification times of new/ and cur/, and whether they may be trusted."""
        times = []
        for sub in ("new", "cur"):
            try:
                times.append(os.stat(folder / sub).st_mtime_ns)
            except FileNotFoundError:
                times.append(0)
        safe = max(times) < time.time_ns() - STAMP_SAFETY_NS
        return f"{times[0]}:{times[1]}", safe

    def sync(self, mailbox: str, force: bool = False) -> MailboxState:
        """Bring the index of one mailbox in line with its folder and return it."""
        name = normalize_mailbox_name(mailbox)
        self._refresh(name, force)
        return self.state(name)

    def sync_changes(self, mailbox: str, highestmodseq: int, uidnext: int) -> MailboxState | None:
        """Like ``sync``, but None when nothing changed since ``highestmodseq``/``uidnext``."""
        name = normalize_mailbox_name(mailbox)
        self._refresh(name, False)
        row = (
            self._conn()
            .execute("SELECT highestmodseq, uidnext FROM mailboxes WHERE name = ?", (name,))
            .fetchone()
        )
        if row is not None and (row[0], row[1]) == (highestmodseq, uidnext):
            return None
        return self.changed_since(name, highestmodseq)

    def changed_since(self, mailbox: str, modseq: int) -> MailboxState:
        """The messages changed after ``modseq`` and the UIDs of all (one read snapshot)."""
        name = normalize_mailbox_name(mailbox)
        db = self._conn()
        db.execute("BEGIN")
        try:
            row = db.execute(
                "SELECT uidvalidity, uidnext, highestmodseq FROM mailboxes WHERE name = ?", (name,)
            ).fetchone()
            changed = [
                IndexedMessage(*r)
                for r in db.execute(
                    f"SELECT {_MESSAGE_COLUMNS} FROM messages"
                    " WHERE mailbox = ? AND modseq > ? ORDER BY uid",
                    (name, modseq),
                ).fetchall()
            ]
            uids = [
                r[0]
                for r in db.execute(
                    "SELECT uid FROM messages WHERE mailbox = ? ORDER BY uid", (name,)
                ).fetchall()
            ]
        finally:
            db.execute("COMMIT")
        if row is None:
            return self.state(name)
        return MailboxState(name, row[0], row[1], row[2], changed, uids)

    def _refresh(self, name: str, force: bool) -> None:
        folder = self.store.folder_path(self.address, name)
        stamp, safe = self._stamp(folder)
        db = self._conn()
        row = db.execute("SELECT scan_stamp FROM mailboxes WHERE name = ?", (name,)).fetchone()
        if not force and row is not None and row[0] and row[0] == stamp:
            return
        known = {
            key: filename
            for key, filename in db.execute(
                "SELECT key, filename FROM messages WHERE mailbox = ?", (name,)
            )
        }
        old_cur = row[0].partition(":")[2] if row is not None and row[0] else ""
        cur_unchanged = not force and old_cur == stamp.partition(":")[2]
        on_disk = self._scan(folder, known, skip_cur=cur_unchanged)
        with self._write() as db:
            self._apply_scan(db, name, on_disk, folder)
            db.execute(
                "UPDATE mailboxes SET scan_stamp = ? WHERE name = ?", (stamp if safe else "", name)
            )

    @staticmethod
    def _scan(folder: Path, known: dict[str, str], skip_cur: bool) -> dict[str, StoredMessage]:
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
                found[key] = StoredMessage(
                    key, filename, subdir, flags, stat.st_size, stat.st_mtime
                )
        return found

    @staticmethod
    def _stat_if_needed(folder: Path, message: StoredMessage) -> StoredMessage:
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

    def _mailbox_row(self, db: sqlite3.Connection, name: str) -> tuple[int, int, int]:
        row = db.execute(
            "SELECT uidvalidity, uidnext, highestmodseq FROM mailboxes WHERE name = ?", (name,)
        ).fetchone()
        if row is None:
            uidvalidity = self._new_uidvalidity(db)
            db.execute(
                "INSERT INTO mailboxes (name, uidvalidity, uidnext, highestmodseq)"
                " VALUES (?, ?, 1, 1)",
                (name, uidvalidity),
            )
            row = (uidvalidity, 1, 1)
        return row[0], row[1], row[2]

    def _new_uidvalidity(self, db: sqlite3.Connection) -> int:
        """A UIDVALIDITY never used before by this user (time based, strictly increasing).

        The last value handed out is also kept in a small file beside the index, so an
        index that is lost and rebuilt never repeats one.
        """
        latest = db.execute("SELECT MAX(uidvalidity) FROM mailboxes").fetchone()[0] or 0
        marker = self.path.with_name(UIDVALIDITY_FILENAME)
        with contextlib.suppress(FileNotFoundError, ValueError):
            latest = max(latest, int(marker.read_text().strip() or 0))
        value = max(int(time.time()), latest + 1) % 2**32 or 1
        tmp = marker.with_suffix(".tmp")
        tmp.write_text(f"{value}\n")
        os.replace(tmp, marker)
        return value

    def _apply_scan(
        self,
        db: sqlite3.Connection,
        name: str,
        on_disk: dict[str, StoredMessage],
        folder: Path,
    ) -> None:
        uidvalidity, uidnext, modseq = self._mailbox_row(db, name)
        indexed = {
            r[1]: r
            for r in db.execute(
                "SELECT uid, key, filename, flags FROM messages WHERE mailbox = ?", (name,)
            )
        }
        changed = False
        gone = []
        for key, (uid, _key, filename, flags) in indexed.items():
            current = on_disk.get(key)
            if current is None:
                gone.append(uid)
            elif current.filename != filename or current.flags != flags:
                if current.flags != flags:
                    modseq += 1
                    db.execute(
                        "UPDATE messages SET filename = ?, flags = ?, modseq = ?"
                        " WHERE mailbox = ? AND uid = ?",
                        (current.filename, current.flags, modseq, name, uid),
                    )
                else:
                    db.execute(
                        "UPDATE messages SET filename = ? WHERE mailbox = ? AND uid = ?",
                        (current.filename, name, uid),
                    )
                changed = True
        if gone:
            modseq += 1
            self._drop(db, name, gone)
            changed = True
        new = sorted(
            (self._stat_if_needed(folder, m) for k, m in on_disk.items() if k not in indexed),
            key=lambda m: (m.mtime, m.key),
        )
        new = [m for m in new if m.mtime >= 0]
        for message in new:
            modseq += 1
            self._insert(db, name, uidnext, message, "", modseq, message.subdir == "new")
            uidnext += 1
            changed = True
        if changed:
            db.execute(
                "UPDATE mailboxes SET uidnext = ?, highestmodseq = ? WHERE name = ?",
                (uidnext, modseq, name),
            )

    @staticmethod
    def _insert(
        db: sqlite3.Connection,
        name: str,
        uid: int,
        message: StoredMessage,
        keywords: str,
        modseq: int,
        recent: bool,
    ) -> None:
        db.execute(
            "INSERT INTO messages"
            " (mailbox, uid, key, filename, flags, size, internaldate, modseq, keywords, recent)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                name,
                uid,
                message.key,
                message.filename,
                message.flags,
                message.size,
                message.mtime,
                modseq,
                keywords,
                int(recent),
            ),
        )

    @staticmethod
    def _drop(db: sqlite3.Connection, name: str, uids: list[int]) -> None:
        for uid in uids:
            db.execute("DELETE FROM messages WHERE mailbox = ? AND uid = ?", (name, uid))
            row = db.execute(
                "SELECT id FROM content WHERE mailbox = ? AND uid = ?", (name, uid)
            ).fetchone()
            if row is not None:
                db.execute("DELETE FROM fts WHERE rowid = ?", (row[0],))
                db.execute("DELETE FROM content WHERE id = ?", (row[0],))

    def state(self, mailbox: str) -> MailboxState:
        """The indexed state of a mailbox as it is now (no scan)."""
        name = normalize_mailbox_name(mailbox)
        db = self._conn()
        row = db.execute(
            "SELECT uidvalidity, uidnext, highestmodseq, scan_stamp FROM mailboxes WHERE name = ?",
            (name,),
        ).fetchone()
        if row is None:
            with self._write() as wdb:
                row = (*self._mailbox_row(wdb, name), "")
        version = (row[3], row[2], row[1])
        cache_key = (str(self.path), name)
        if row[3]:
            with _STATE_CACHE_LOCK:
                cached = _STATE_CACHE.get(cache_key)
            if cached is not None and cached[0] == version and cached[1].uidvalidity == row[0]:
                return cached[1]
        messages = [
            IndexedMessage(*r)
            for r in db.execute(
                f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE mailbox = ? ORDER BY uid", (name,)
            ).fetchall()
        ]
        state = MailboxState(name, row[0], row[1], row[2], messages)
        if row[3]:
            with _STATE_CACHE_LOCK:
                if len(_STATE_CACHE) >= STATE_CACHE_SIZE:
                    _STATE_CACHE.pop(next(iter(_STATE_CACHE)))
                _STATE_CACHE[cache_key] = (version, state)
        return state

    def status(self, mailbox: str) -> MailboxStatus:
        """Counters of a mailbox after a sync, computed in SQL."""
        name = normalize_mailbox_name(mailbox)
        self._refresh(name, False)
        db = self._conn()
        uidvalidity, uidnext, modseq = db.execute(
            "SELECT uidvalidity, uidnext, highestmodseq FROM mailboxes WHERE name = ?", (name,)
        ).fetchone()
        count, unseen, recent, size = db.execute(
            "SELECT COUNT(*), COALESCE(SUM(instr(flags, 'S') = 0), 0),"
            " COALESCE(SUM(recent), 0), COALESCE(SUM(size), 0)"
            " FROM messages WHERE mailbox = ?",
            (name,),
        ).fetchone()
        return MailboxStatus(name, uidvalidity, uidnext, modseq, count, unseen, recent, size)

    def claim_recent(self, mailbox: str) -> list[int]:
        """Take the \\Recent messages for one session: later sessions see them as old."""
        name = normalize_mailbox_name(mailbox)
        with self._write() as db:
            rows = db.execute(
                "UPDATE messages SET recent = 0 WHERE mailbox = ? AND recent = 1 RETURNING uid",
                (name,),
            ).fetchall()
        return sorted(r[0] for r in rows)

    def recent_uids(self, mailbox: str) -> list[int]:
        """The messages no session has claimed as \\Recent yet."""
        name = normalize_mailbox_name(mailbox)
        rows = (
            self._conn()
            .execute("SELECT uid FROM messages WHERE mailbox = ? AND recent = 1", (name,))
            .fetchall()
        )
        return sorted(r[0] for r in rows)

    def total_size(self) -> int:
        """The bytes of every indexed message of the user."""
        return int(
            self._conn().execute("SELECT COALESCE(SUM(size), 0) FROM messages").fetchone()[0]
        )

    # -- changes made through the IMAP server -----------------------------------------------

    def add(
        self, mailbox: str, message: StoredMessage, keywords: str = "", zone: int | None = None
    ) -> tuple[int, int]:
        """Index a message just written to a folder; returns (uidvalidity, uid).

        ``zone`` keeps the time zone of an APPEND date-time for INTERNALDATE.
        """
        name = normalize_mailbox_name(mailbox)
        with self._write() as db:
            uidvalidity, uidnext, modseq = self._mailbox_row(db, name)
            known = db.execute(
                "SELECT uid FROM messages WHERE mailbox = ? AND key = ?", (name, message.key)
            ).fetchone()
            if known is not None:
                return uidvalidity, int(known[0])
            self._insert(db, name, uidnext, message, keywords, modseq + 1, True)
            if zone is not None:
                db.execute(
                    "UPDATE messages SET zone = ? WHERE mailbox = ? AND uid = ?",
                    (zone, name, uidnext),
                )
            db.execute(
                "UPDATE mailboxes SET uidnext = ?, highestmodseq = ? WHERE name = ?",
                (uidnext + 1, modseq + 1, name),
            )
        return uidvalidity, uidnext

    def set_flags(
        self,
        mailbox: str,
        uid: int,
        filename: str,
        flags: str,
        keywords: str,
        keyword_mode: str = "",
    ) -> tuple[int | None, str]:
        """Record new flags of a message; returns (new modseq or None if gone, keywords).

        Keywords are merged with the indexed ones (``keyword_mode`` ``+``, ``-`` or ""
        to replace) inside the transaction, so concurrent sessions lose no change.
        """
        name = normalize_mailbox_name(mailbox)
        with self._write() as db:
            row = db.execute(
                "SELECT keywords FROM messages WHERE mailbox = ? AND uid = ?", (name, uid)
            ).fetchone()
            if row is None:
                return None, keywords
            merged = merge_keywords(keyword_mode, row[0], keywords)
            _, _, modseq = self._mailbox_row(db, name)
            modseq += 1
            db.execute(
                "UPDATE messages SET filename = ?, flags = ?, keywords = ?, modseq = ?"
                " WHERE mailbox = ? AND uid = ?",
                (filename, flags, merged, modseq, name, uid),
            )
            db.execute("UPDATE mailboxes SET highestmodseq = ? WHERE name = ?", (modseq, name))
        return modseq, merged

    def remove(self, mailbox: str, uids: Iterable[int]) -> None:
        """Forget messages that were removed from a folder."""
        name = normalize_mailbox_name(mailbox)
        with self._write() as db:
            _, _, modseq = self._mailbox_row(db, name)
            self._drop(db, name, list(uids))
            db.execute("UPDATE mailboxes SET highestmodseq = ? WHERE name = ?", (modseq + 1, name))

    def rename(self, old: str, new: str) -> None:
        """Carry the index of a renamed mailbox (and its children) over to the new names."""
        old_name, new_name = normalize_mailbox_name(old), normalize_mailbox_name(new)
        with self._write() as db:
            if old_name == INBOX:
                uidvalidity, uidnext, modseq = self._mailbox_row(db, INBOX)
                db.execute("DELETE FROM mailboxes WHERE name = ?", (new_name,))
                db.execute(
                    "INSERT INTO mailboxes (name, uidvalidity, uidnext, highestmodseq)"
                    " VALUES (?, ?, ?, ?)",
                    (new_name, uidvalidity, uidnext, modseq),
                )
                for table in ("messages", "content"):
                    db.execute(
                        f"UPDATE {table} SET mailbox = ? WHERE mailbox = ?", (new_name, INBOX)
                    )
                db.execute("UPDATE mailboxes SET scan_stamp = '' WHERE name = ?", (INBOX,))
                return
            renames = [(old_name, new_name)]
            prefix = old_name + DELIMITER
            for (name,) in db.execute("SELECT name FROM mailboxes").fetchall():
                if name.startswith(prefix):
                    renames.append((name, new_name + name[len(old_name) :]))
            for before, after in renames:
                for table in ("messages", "content"):
                    db.execute(f"UPDATE {table} SET mailbox = ? WHERE mailbox = ?", (after, before))
                db.execute("DELETE FROM mailboxes WHERE name = ?", (after,))
                db.execute("UPDATE mailboxes SET name = ? WHERE name = ?", (after, before))
                subscribed = db.execute(
                    "DELETE FROM subscriptions WHERE name = ? RETURNING name", (before,)
                ).fetchall()
                if subscribed:
                    db.execute("INSERT OR IGNORE INTO subscriptions VALUES (?)", (after,))

    def forget(self, mailbox: str) -> None:
        """Drop a deleted mailbox from the index (its UIDVALIDITY is never reused)."""
        name = normalize_mailbox_name(mailbox)
        with self._write() as db:
            uids = [r[0] for r in db.execute("SELECT uid FROM messages WHERE mailbox = ?", (name,))]
            self._drop(db, name, uids)
            db.execute("DELETE FROM mailboxes WHERE name = ?", (name,))

    # -- subscriptions ----------------------------------------------------------------------

    def subscribe(self, mailbox: str) -> None:
        """Add a mailbox to the subscriptions."""
        with self._write() as db:
            db.execute(
                "INSERT OR IGNORE INTO subscriptions VALUES (?)", (normalize_mailbox_name(mailbox),)
            )

    def unsubscribe(self, mailbox: str) -> bool:
        """Remove a subscription; False if there was none."""
        with self._write() as db:
            cursor = db.execute("DELETE FROM subscriptions WHERE name = ?", (mailbox,))
            return cursor.rowcount > 0

    def subscriptions(self) -> list[str]:
        """Every subscribed name."""
        return [r[0] for r in self._conn().execute("SELECT name FROM subscriptions ORDER BY name")]

    # -- content for searches -------------------------------------------------------------

    def without_content(self, mailbox: str, uids: Iterable[int]) -> list[int]:
        """Which of these UIDs have no parsed content yet."""
        name = normalize_mailbox_name(mailbox)
        have = {
            r[0] for r in self._conn().execute("SELECT uid FROM content WHERE mailbox = ?", (name,))
        }
        return [uid for uid in uids if uid not in have]

    def add_content(self, mailbox: str, items: Iterable[tuple[int, Content]]) -> None:
        """Store the parsed content of messages (the full-text index included)."""
        name = normalize_mailbox_name(mailbox)
        with self._write() as db:
            for uid, content in items:
                cursor = db.execute(
                    "INSERT OR IGNORE INTO content (mailbox, uid, sent) VALUES (?, ?, ?)",
                    (name, uid, content.sent),
                )
                if cursor.rowcount == 0:
                    continue
                db.execute(
                    "INSERT INTO fts (rowid, hfrom, hto, hcc, hbcc, subject, headers, body)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        cursor.lastrowid,
                        content.hfrom,
                        content.hto,
                        content.hcc,
                        content.hbcc,
                        content.subject,
                        content.headers,
                        content.body,
                    ),
                )

    def sent_dates(self, mailbox: str) -> dict[int, float | None]:
        """The Date: header of every message with content, by UID."""
        name = normalize_mailbox_name(mailbox)
        rows = self._conn().execute("SELECT uid, sent FROM content WHERE mailbox = ?", (name,))
        return {uid: sent for uid, sent in rows}

    def search_text(self, mailbox: str, column: str, text: str) -> set[int]:
        """UIDs whose ``column`` contains ``text`` (case-insensitive substring)."""
        if column not in FTS_COLUMNS:
            raise ValueError(f"unknown search column {column!r}")
        name = normalize_mailbox_name(mailbox)
        db = self._conn()
        # The full-text side runs first (as a subquery) so the trigram index does the work.
        base = "SELECT uid FROM content WHERE mailbox = ? AND id IN (SELECT rowid FROM fts WHERE "
        if len(text) >= 3:
            phrase = '"' + text.replace('"', '""') + '"'
            rows = db.execute(base + f"{column} MATCH ?)", (name, phrase))
        else:
            rows = db.execute(base + f"instr(lower({column}), lower(?)) > 0)", (name, text))
        return {r[0] for r in rows}

    def header_text(self, mailbox: str) -> dict[int, str]:
        """The unfolded header block of every message with content, by UID."""
        name = normalize_mailbox_name(mailbox)
        rows = self._conn().execute(
            "SELECT c.uid, fts.headers FROM content c JOIN fts ON fts.rowid = c.id"
            " WHERE c.mailbox = ?",
            (name,),
        )
        return {uid: headers for uid, headers in rows}

    # -- rebuilding ---------------------------------------------------------------------------

    def rebuild(self, mailboxes: Iterable[str]) -> dict[str, int]:
        """Rescan every mailbox, keeping known UIDs, and drop the parsed content.

        A damaged index file is moved aside first and rebuilt from scratch (new
        UIDVALIDITY values, which tells clients to resynchronise).
        """
        try:
            self._conn().execute("PRAGMA quick_check").fetchone()
        except sqlite3.DatabaseError:
            self.close()
            if self.path.exists():
                self.path.rename(self.path.with_suffix(f".broken-{int(time.time())}"))
        with self._write() as db:
            db.execute("DELETE FROM fts")
            db.execute("DELETE FROM content")
            known = [normalize_mailbox_name(m) for m in mailboxes]
            for (name,) in db.execute("SELECT name FROM mailboxes").fetchall():
                if name not in known:
                    uids = [
                        r[0]
                        for r in db.execute("SELECT uid FROM messages WHERE mailbox = ?", (name,))
                    ]
                    self._drop(db, name, uids)
                    db.execute("DELETE FROM mailboxes WHERE name = ?", (name,))
        return {name: len(self.sync(name, force=True).messages) for name in known}
