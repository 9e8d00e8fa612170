"""The full-text side of the mailbox index: parsed content and an FTS5 trigram index.

A message's content (sent date, decoded headers, body text, attachments) is parsed
lazily, when a search first needs it, and kept in the ``content`` table with its text in
the ``fts`` virtual table (trigram tokenizer, so any substring of three or more characters
is an index lookup) and its attachments (name, type, size) in ``parts``. Content parsed
before ``parts`` existed has ``parts_known = 0`` and is parsed again when next needed.
These functions work on the index's open SQLite connection; writes run
inside the caller's transaction.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass

FTS_COLUMNS = ("hfrom", "hto", "hcc", "hbcc", "subject", "headers", "body")

SCHEMA = """
CREATE TABLE IF NOT EXISTS content (
    id INTEGER PRIMARY KEY,
    mailbox TEXT NOT NULL,
    uid INTEGER NOT NULL,
    sent REAL,
    parts_known INTEGER NOT NULL DEFAULT 0,
    UNIQUE (mailbox, uid)
);
CREATE TABLE IF NOT EXISTS parts (
    content_id INTEGER NOT NULL,
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS parts_by_content ON parts (content_id);
CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(
    hfrom, hto, hcc, hbcc, subject, headers, body, tokenize = 'trigram'
);
"""


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
    attachments: tuple[tuple[str, str, int], ...] = ()  # (file name, content type, size)


@dataclass(frozen=True)
class IndexedContent:
    """What the index keeps of one message, read back without opening the message."""

    uid: int
    sent: float | None
    hfrom: str
    hto: str
    subject: str
    headers: str
    body: str
    attachments: tuple[tuple[str, str, int], ...]


FEW_UIDS = 64  # up to this many asked about: looked up one by one, not the whole mailbox
# (index file, mailbox) -> (UIDVALIDITY, content epoch, UID): every message of the
# mailbox up to that UID had its content when last looked, so a search of a whole
# mailbox checks only the messages above it (UIDs only grow; expunged messages take
# their content with them; a rebuild clears all content and moves the epoch on).
_COVERED: dict[tuple[str, str], tuple[int, int, int]] = {}
_COVERED_LOCK = threading.Lock()


def without_content(
    db: sqlite3.Connection, mailbox: str, uids: Iterable[int], index_file: str = ""
) -> list[int]:
    """Which of these UIDs have no parsed content yet (or none with its attachments).

    Asked about a whole mailbox (a search), SQLite lists the indexed messages without
    content, usually the few appended since the last search, instead of Python building
    the set of every UID that has some; with ``index_file`` (the index's path) only the
    messages above the last UID found covered in this process are looked at. A UID that
    is no longer indexed is left out (its message is gone: there is nothing to parse).
    """
    wanted = list(uids)
    if len(wanted) <= FEW_UIDS:
        marks = ",".join("?" * len(wanted))
        rows = db.execute(
            f"SELECT uid FROM content WHERE mailbox = ? AND parts_known = 1 AND uid IN ({marks})",
            (mailbox, *wanted),
        )
        have = {r[0] for r in rows}
        return [uid for uid in wanted if uid not in have]
    db.execute("BEGIN")  # one snapshot for the bounds and the look
    try:
        validity, top, epoch = db.execute(
            "SELECT (SELECT uidvalidity FROM mailboxes WHERE name = ?),"
            " (SELECT MAX(uid) FROM messages WHERE mailbox = ?),"
            " (SELECT user_version FROM pragma_user_version)",
            (mailbox, mailbox),
        ).fetchone()
        key = (index_file, mailbox)
        with _COVERED_LOCK:
            covered = _COVERED.get(key) if index_file else None
        after = covered[2] if covered is not None and covered[:2] == (validity, epoch) else 0
        found = db.execute(
            "SELECT m.uid FROM messages m WHERE m.mailbox = ? AND m.uid > ? AND NOT EXISTS"
            " (SELECT 1 FROM content c WHERE c.mailbox = m.mailbox AND c.uid = m.uid"
            " AND c.parts_known = 1)",
            (mailbox, after),
        ).fetchall()
    finally:
        db.execute("COMMIT")
    lacking = {r[0] for r in found}
    if not lacking and index_file and validity is not None and top is not None:
        with _COVERED_LOCK:
            if len(_COVERED) > 10_000:
                _COVERED.clear()
            _COVERED[key] = (validity, epoch, top)
    return [uid for uid in wanted if uid in lacking] if lacking else []


def add_content(db: sqlite3.Connection, mailbox: str, items: Iterable[tuple[int, Content]]) -> None:
    """Store the parsed content of messages (a UID that has some already is skipped, unless
    it was parsed before attachments were kept)."""
    for uid, content in items:
        known = db.execute(
            "SELECT parts_known FROM content WHERE mailbox = ? AND uid = ?", (mailbox, uid)
        ).fetchone()
        if known is not None and known[0]:
            continue
        if known is not None:
            drop_content(db, mailbox, uid)
        cursor = db.execute(
            "INSERT INTO content (mailbox, uid, sent, parts_known) VALUES (?, ?, ?, 1)",
            (mailbox, uid, content.sent),
        )
        db.executemany(
            "INSERT INTO parts (content_id, filename, content_type, size) VALUES (?, ?, ?, ?)",
            [(cursor.lastrowid, *part) for part in content.attachments],
        )
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


def drop_content(db: sqlite3.Connection, mailbox: str, uid: int) -> None:
    """Forget the content of one message."""
    row = db.execute(
        "SELECT id FROM content WHERE mailbox = ? AND uid = ?", (mailbox, uid)
    ).fetchone()
    if row is not None:
        db.execute("DELETE FROM fts WHERE rowid = ?", (row[0],))
        db.execute("DELETE FROM parts WHERE content_id = ?", (row[0],))
        db.execute("DELETE FROM content WHERE id = ?", (row[0],))


def rename_content(db: sqlite3.Connection, old: str, new: str) -> None:
    """Carry the content of a renamed mailbox over to its new name."""
    db.execute("UPDATE content SET mailbox = ? WHERE mailbox = ?", (new, old))


def clear_content(db: sqlite3.Connection) -> None:
    """Drop every parsed content (a rebuild parses again on demand); the content epoch
    (the file's ``user_version``) moves on, so no process trusts what it saw before."""
    db.execute("DELETE FROM fts")
    db.execute("DELETE FROM parts")
    db.execute("DELETE FROM content")
    epoch = int(db.execute("PRAGMA user_version").fetchone()[0])
    db.execute(f"PRAGMA user_version = {epoch + 1}")


def sent_dates(db: sqlite3.Connection, mailbox: str) -> dict[int, float | None]:
    """The Date: header of every message with content, by UID."""
    rows = db.execute("SELECT uid, sent FROM content WHERE mailbox = ?", (mailbox,))
    return {uid: sent for uid, sent in rows}


def search_text(db: sqlite3.Connection, mailbox: str, column: str, text: str) -> set[int]:
    """UIDs whose ``column`` contains ``text`` (case-insensitive substring)."""
    if column not in FTS_COLUMNS:
        raise ValueError(f"unknown search column {column!r}")
    # The full-text side runs first (as a subquery) so the trigram index does the work.
    base = "SELECT uid FROM content WHERE mailbox = ? AND id IN (SELECT rowid FROM fts WHERE "
    if len(text) >= 3:
        phrase = '"' + text.replace('"', '""') + '"'
        rows = db.execute(base + f"{column} MATCH ?)", (mailbox, phrase))
    else:
        rows = db.execute(base + f"instr(lower({column}), lower(?)) > 0)", (mailbox, text))
    return {r[0] for r in rows}


def header_text(db: sqlite3.Connection, mailbox: str) -> dict[int, str]:
    """The unfolded header block of every message with content, by UID."""
    rows = db.execute(
        "SELECT c.uid, fts.headers FROM content c JOIN fts ON fts.rowid = c.id WHERE c.mailbox = ?",
        (mailbox,),
    )
    return {uid: headers for uid, headers in rows}


def indexed_content(
    db: sqlite3.Connection, mailbox: str, uids: Iterable[int]
) -> dict[int, IndexedContent]:
    """The indexed content of these UIDs (those that have some), attachments included."""
    wanted = list(uids)
    found: dict[int, IndexedContent] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        marks = ",".join("?" * len(chunk))
        rows = db.execute(
            "SELECT c.id, c.uid, c.sent, fts.hfrom, fts.hto, fts.subject, fts.headers, fts.body"
            " FROM content c JOIN fts ON fts.rowid = c.id"
            f" WHERE c.mailbox = ? AND c.uid IN ({marks})",
            (mailbox, *chunk),
        ).fetchall()
        ids = {row[0]: row[1] for row in rows}
        parts: dict[int, list[tuple[str, str, int]]] = {}
        if ids:
            id_marks = ",".join("?" * len(ids))
            for content_id, name, kind, size in db.execute(
                "SELECT content_id, filename, content_type, size FROM parts"
                f" WHERE content_id IN ({id_marks}) ORDER BY rowid",
                tuple(ids),
            ):
                parts.setdefault(ids[content_id], []).append((name, kind, size))
        for _id, uid, sent, hfrom, hto, subject, headers, body in rows:
            found[uid] = IndexedContent(
                uid, sent, hfrom, hto, subject, headers, body, tuple(parts.get(uid, ()))
            )
    return found
