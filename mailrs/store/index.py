"""The per-user mailbox index: UIDVALIDITY, UIDs, flags, modseq and a full-text index.

One SQLite file per user (``<maildir>/mailrs-index.sqlite``, opened by
``mailrs.store.indexdb``). ``sync()`` compares a folder's files with the index: new keys
get the next UIDs (oldest first), vanished keys are dropped, flag changes are recorded
with a new modseq. A folder whose ``new/`` and ``cur/`` directories have not changed
since the last scan is not scanned again (``mailrs.store.scan``); in a process with the
folder watch on (imapd, ``mailrs.store.folder_watch``) only the files the kernel saw
change are examined.
Keywords (IMAP flags with no Maildir letter) and subscriptions live only here. Parsed
content (sent date, search text in an FTS5 trigram index, ``mailrs.store.fulltext``) is
filled in lazily, when a search needs it. Changes go through the mailbox service
(``mailrs.store.mailbox``), which keeps the Maildir and this index in step.

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
from pathlib import Path

from mailrs.store import folder_watch, fulltext
from mailrs.store.filenames import INFO_SEP
from mailrs.store.flags import merge_keywords
from mailrs.store.fulltext import Content, IndexedContent
from mailrs.store.indexdb import open_index, set_aside, write_transaction, writer_lock
from mailrs.store.maildir import MaildirStore, StoredMessage
from mailrs.store.names import DELIMITER, INBOX, normalize_mailbox_name
from mailrs.store.pending_keywords import take_pending
from mailrs.store.records import IndexedMessage, MailboxState, MailboxStatus
from mailrs.store.scan import folder_stamp, present_files, scan_folder, stat_if_needed

INDEX_FILENAME = "mailrs-index.sqlite"
UIDVALIDITY_FILENAME = "mailrs-uidvalidity"
__all__ = ["Content", "IndexedMessage", "MailIndex", "MailboxState", "MailboxStatus"]
STATE_CACHE_SIZE = 8  # mailboxes; each holds its message list
# (index path, mailbox) -> ((scan stamp, highestmodseq, uidnext), state); shared by the
# sessions of one process so a SELECT of an unchanged mailbox costs no query of all rows.
_STATE_CACHE: dict[tuple[str, str], tuple[tuple[str, int, int], MailboxState]] = {}
_STATE_CACHE_LOCK = threading.Lock()

MAX_CHANGED_KEYS = 400  # more changed files than this since the last look: scan the folder
_MESSAGE_COLUMNS = "uid, key, filename, flags, size, internaldate, modseq, keywords, zone"


class MailIndex:
    """The index of one user's mailboxes."""

    def __init__(self, store: MaildirStore, address: str) -> None:
        self.store = store
        self.address = address
        self.path = store.user_dir(address) / INDEX_FILENAME
        self._db: sqlite3.Connection | None = None

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            self._db = open_index(self.path)
        return self._db

    def close(self) -> None:
        """Close the SQLite connection."""
        if self._db is not None:
            self._db.close()
            self._db = None

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        conn = self._conn()  # opened (and made) before the lock file beside it
        with writer_lock(self.path), write_transaction(conn) as db:
            yield db

    # -- synchronising with the Maildir ---------------------------------------------------

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
        """The messages changed after ``modseq`` and those expunged since (one read snapshot).

        The expunged are the recorded ones (``vanished``); where the record does not
        reach back to ``modseq``, the UIDs of all messages are listed instead.
        """
        name = normalize_mailbox_name(mailbox)
        db = self._conn()
        db.execute("BEGIN")
        try:
            row = db.execute(
                "SELECT uidvalidity, uidnext, highestmodseq, vanished_from FROM mailboxes"
                " WHERE name = ?",
                (name,),
            ).fetchone()
            changed = [
                IndexedMessage(*r)
                for r in db.execute(
                    f"SELECT {_MESSAGE_COLUMNS} FROM messages"
                    " WHERE mailbox = ? AND modseq > ? ORDER BY uid",
                    (name, modseq),
                ).fetchall()
            ]
            uids = vanished = None
            if row is not None and modseq >= row[3]:
                vanished = frozenset(
                    r[0]
                    for r in db.execute(
                        "SELECT uid FROM vanished WHERE mailbox = ? AND modseq > ?", (name, modseq)
                    ).fetchall()
                )
            else:
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
        return MailboxState(name, row[0], row[1], row[2], changed, uids, vanished)

    def _refresh(self, name: str, force: bool) -> None:
        folder = self.store.folder_path(self.address, name)
        watch = folder_watch.watching()
        if watch is None or force:
            self._scan(name, folder, force)
            return
        with watch.consume(folder) as changes:
            if changes is None or changes.full:
                incremental = False
            else:  # only the files the kernel saw change
                incremental = self._apply_changes(name, folder, changes.names, watch)
            if not incremental:
                self._scan(name, folder, force)

    def _scan(self, name: str, folder: Path, force: bool) -> None:
        """Compare the whole folder with the index (skipped while its stamp is unchanged)."""
        stamp, safe = folder_stamp(folder)
        db = self._conn()
        row = db.execute("SELECT scan_stamp FROM mailboxes WHERE name = ?", (name,)).fetchone()
        if not force and row is not None and row[0] and row[0] == stamp:
            return
        rows = db.execute(
            "SELECT key, filename, flags FROM messages WHERE mailbox = ?", (name,)
        ).fetchall()
        known = {key: filename for key, filename, _ in rows}
        old_cur = row[0].partition(":")[2] if row is not None and row[0] else ""
        cur_unchanged = not force and old_cur == stamp.partition(":")[2]
        on_disk = scan_folder(folder, known, skip_cur=cur_unchanged)
        # The folder as indexed (what _apply_scan compares: the same keys with the same
        # file names and flags) needs no write, so sessions do not queue on the lock.
        if _as_indexed(rows, on_disk) and row is not None and row[0] == (stamp if safe else ""):
            return
        with self._write() as db:
            judged = {key: (filename, flags) for key, filename, flags in rows}
            self._apply_scan(db, name, on_disk, folder, judged=judged)
            db.execute(
                "UPDATE mailboxes SET scan_stamp = ? WHERE name = ?", (stamp if safe else "", name)
            )

    def _apply_changes(
        self,
        name: str,
        folder: Path,
        names: set[tuple[str, str]],
        watch: folder_watch.FolderWatch,
    ) -> bool:
        """Bring the index in line with the files the folder watch saw change.

        False when a full scan is needed instead (too many names, or a file that
        seems gone may have been renamed meanwhile).
        """
        candidates: dict[str, set[tuple[str, str]]] = {}
        for subdir, filename in names:
            if not filename.startswith("."):
                key = filename.partition(INFO_SEP)[0]
                candidates.setdefault(key, set()).add((subdir, filename))
        if not candidates:
            return True
        if len(candidates) > MAX_CHANGED_KEYS:
            return False
        rows = self._rows_of_keys(self._conn(), name, set(candidates))
        for _key, filename, _flags in rows:  # the indexed name still holds it unless it moved
            candidates[_key].add(("cur" if INFO_SEP in filename else "new", filename))
        on_disk = present_files(folder, candidates)
        gone = {key for key, _, _ in rows if key not in on_disk}
        if gone and not watch.settled(folder, gone):
            return False
        if _as_indexed(rows, on_disk):
            return True
        with self._write() as db:
            judged = {key: (filename, flags) for key, filename, flags in rows}
            self._apply_scan(db, name, on_disk, folder, set(candidates), judged)
            # other processes trust a safe stamp only after a full comparison
            db.execute("UPDATE mailboxes SET scan_stamp = '' WHERE name = ?", (name,))
        return True

    @staticmethod
    def _rows_of_keys(
        db: sqlite3.Connection, name: str, keys: set[str]
    ) -> list[tuple[str, str, str]]:
        """(key, file name, flags) of the indexed messages with these keys."""
        marks = ",".join("?" * len(keys))
        return db.execute(
            f"SELECT key, filename, flags FROM messages WHERE mailbox = ? AND key IN ({marks})",
            (name, *keys),
        ).fetchall()

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
        keys: set[str] | None = None,
        judged: dict[str, tuple[str, str]] | None = None,
    ) -> None:
        """Record what ``on_disk`` holds; with ``keys``, only for the messages with those.

        ``judged`` holds the (file name, flags) of the messages indexed when ``on_disk``
        was looked at: only those can be found gone or changed. A message indexed since,
        or whose row changed since (another session or process indexed it, renamed its
        file, set its flags meanwhile), may not be what ``on_disk`` saw: it is left to a
        later look rather than dropped or given stale flags.
        """
        uidvalidity, uidnext, modseq = self._mailbox_row(db, name)
        where = "" if keys is None else f" AND key IN ({','.join('?' * len(keys))})"
        indexed = {
            r[1]: r
            for r in db.execute(
                f"SELECT uid, key, filename, flags FROM messages WHERE mailbox = ?{where}",
                (name, *(keys or ())),
            )
        }
        changed = False
        gone = []
        for key, (uid, _key, filename, flags) in indexed.items():
            if judged is not None and judged.get(key) != (filename, flags):
                continue  # indexed or changed since the look: not what on_disk saw
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
            self._drop(db, name, gone, modseq)
            changed = True
        new = sorted(
            (stat_if_needed(folder, m) for k, m in on_disk.items() if k not in indexed),
            key=lambda m: (m.mtime, m.key),
        )
        new = [m for m in new if m.mtime >= 0]
        pending = take_pending(self.store.user_dir(self.address), [m.key for m in new])
        for message in new:
            modseq += 1
            keywords = pending.get(message.key, "")
            self._insert(db, name, uidnext, message, keywords, modseq, message.subdir == "new")
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
    def _drop(
        db: sqlite3.Connection, name: str, uids: list[int], modseq: int | None = None
    ) -> None:
        """Delete messages; with ``modseq``, remember them as expunged at that modseq."""
        for uid in uids:
            db.execute("DELETE FROM messages WHERE mailbox = ? AND uid = ?", (name, uid))
            fulltext.drop_content(db, name, uid)
        if modseq is not None:
            db.executemany(
                "INSERT OR REPLACE INTO vanished (mailbox, uid, modseq) VALUES (?, ?, ?)",
                [(name, uid, modseq) for uid in uids],
            )

    def vanished_since(self, mailbox: str, modseq: int) -> list[int] | None:
        """UIDs expunged after ``modseq`` (QRESYNC), ascending; None when the record of
        expunges does not reach back that far (the index predates it)."""
        name = normalize_mailbox_name(mailbox)
        db = self._conn()
        row = db.execute("SELECT vanished_from FROM mailboxes WHERE name = ?", (name,)).fetchone()
        if row is None or modseq < row[0]:
            return None
        rows = db.execute(
            "SELECT uid FROM vanished WHERE mailbox = ? AND modseq > ? ORDER BY uid",
            (name, modseq),
        ).fetchall()
        return [r[0] for r in rows]

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
        query = "SELECT uidvalidity, uidnext, highestmodseq FROM mailboxes WHERE name = ?"
        row = db.execute(query, (name,)).fetchone()
        if row is None:  # a folder deleted and made again: the watch saw no file change
            self._refresh(name, True)
            row = db.execute(query, (name,)).fetchone()
        uidvalidity, uidnext, modseq = row
        count, unseen, recent, size, deleted = db.execute(
            "SELECT COUNT(*), COALESCE(SUM(instr(flags, 'S') = 0), 0),"
            " COALESCE(SUM(recent), 0), COALESCE(SUM(size), 0),"
            " COALESCE(SUM(instr(flags, 'T') > 0), 0)"
            " FROM messages WHERE mailbox = ?",
            (name,),
        ).fetchone()
        return MailboxStatus(
            name, uidvalidity, uidnext, modseq, count, unseen, recent, size, deleted
        )

    def claim_recent(self, mailbox: str) -> list[int]:
        """Take the \\Recent messages for one session: later sessions see them as old."""
        name = normalize_mailbox_name(mailbox)
        pending = self._conn().execute(
            "SELECT 1 FROM messages WHERE mailbox = ? AND recent = 1 LIMIT 1", (name,)
        )
        if not pending.fetchall():  # fetchall: the statement ends before any BEGIN
            return []  # the usual case: no write lock taken (as if claimed at this instant)
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

    # -- changes made through the mailbox service -----------------------------------------------

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

    def remove(self, mailbox: str, uids: Iterable[int]) -> int:
        """Forget messages that were removed from a folder; returns the new modseq."""
        name = normalize_mailbox_name(mailbox)
        with self._write() as db:
            _, _, modseq = self._mailbox_row(db, name)
            self._drop(db, name, list(uids), modseq + 1)
            db.execute("UPDATE mailboxes SET highestmodseq = ? WHERE name = ?", (modseq + 1, name))
        return modseq + 1

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
                moved = [
                    r[0] for r in db.execute("SELECT uid FROM messages WHERE mailbox = ?", (INBOX,))
                ]
                db.execute("UPDATE messages SET mailbox = ? WHERE mailbox = ?", (new_name, INBOX))
                fulltext.rename_content(db, INBOX, new_name)
                db.execute("DELETE FROM vanished WHERE mailbox = ?", (new_name,))
                db.execute(
                    "INSERT INTO vanished SELECT ?, uid, modseq FROM vanished WHERE mailbox = ?",
                    (new_name, INBOX),
                )
                if moved:  # INBOX keeps its UIDVALIDITY: its messages are expunged there
                    db.executemany(
                        "INSERT OR REPLACE INTO vanished (mailbox, uid, modseq) VALUES (?, ?, ?)",
                        [(INBOX, uid, modseq + 1) for uid in moved],
                    )
                    db.execute(
                        "UPDATE mailboxes SET highestmodseq = ? WHERE name = ?", (modseq + 1, INBOX)
                    )
                db.execute("UPDATE mailboxes SET scan_stamp = '' WHERE name = ?", (INBOX,))
                return
            renames = [(old_name, new_name)]
            prefix = old_name + DELIMITER
            for (name,) in db.execute("SELECT name FROM mailboxes").fetchall():
                if name.startswith(prefix):
                    renames.append((name, new_name + name[len(old_name) :]))
            for before, after in renames:
                db.execute("UPDATE messages SET mailbox = ? WHERE mailbox = ?", (after, before))
                db.execute("DELETE FROM vanished WHERE mailbox = ?", (after,))
                db.execute("UPDATE vanished SET mailbox = ? WHERE mailbox = ?", (after, before))
                fulltext.rename_content(db, before, after)
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
            db.execute("DELETE FROM vanished WHERE mailbox = ?", (name,))
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

    # -- content for searches (``mailrs.store.fulltext``) ----------------------------------

    def without_content(self, mailbox: str, uids: Iterable[int]) -> list[int]:
        """Which of these UIDs have no parsed content yet."""
        name = normalize_mailbox_name(mailbox)
        return fulltext.without_content(self._conn(), name, uids, str(self.path))

    def add_content(self, mailbox: str, items: Iterable[tuple[int, Content]]) -> None:
        """Store the parsed content of messages (the full-text index included)."""
        with self._write() as db:
            fulltext.add_content(db, normalize_mailbox_name(mailbox), items)

    def sent_dates(self, mailbox: str) -> dict[int, float | None]:
        """The Date: header of every message with content, by UID."""
        return fulltext.sent_dates(self._conn(), normalize_mailbox_name(mailbox))

    def search_text(self, mailbox: str, column: str, text: str) -> set[int]:
        """UIDs whose ``column`` contains ``text`` (case-insensitive substring)."""
        return fulltext.search_text(self._conn(), normalize_mailbox_name(mailbox), column, text)

    def header_text(self, mailbox: str) -> dict[int, str]:
        """The unfolded header block of every message with content, by UID."""
        return fulltext.header_text(self._conn(), normalize_mailbox_name(mailbox))

    def indexed_content(self, mailbox: str, uids: Iterable[int]) -> dict[int, IndexedContent]:
        """The indexed content (headers, text, attachments) of these UIDs, by UID."""
        return fulltext.indexed_content(self._conn(), normalize_mailbox_name(mailbox), uids)

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
            set_aside(self.path)
        with self._write() as db:
            fulltext.clear_content(db)
            known = [normalize_mailbox_name(m) for m in mailboxes]
            for (name,) in db.execute("SELECT name FROM mailboxes").fetchall():
                if name not in known:
                    uids = [
                        r[0]
                        for r in db.execute("SELECT uid FROM messages WHERE mailbox = ?", (name,))
                    ]
                    self._drop(db, name, uids)
                    db.execute("DELETE FROM vanished WHERE mailbox = ?", (name,))
                    db.execute("DELETE FROM mailboxes WHERE name = ?", (name,))
        return {name: len(self.sync(name, force=True).messages) for name in known}


def _as_indexed(rows: list[tuple[str, str, str]], on_disk: dict[str, StoredMessage]) -> bool:
    """True when ``on_disk`` holds exactly the indexed (key, file name, flags) ``rows``."""
    return len(on_disk) == len(rows) and all(
        (found := on_disk.get(key)) is not None
        and found.filename == filename
        and found.flags == flags
        for key, filename, flags in rows
    )
