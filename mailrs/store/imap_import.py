"""``mailrs import imap``: copy every folder of an account on another IMAP server.

Folders, flags, keywords and INTERNALDATE come along; messages are appended through the
mailbox service. Each imported message is recorded (``imported_messages``: source,
folder, UIDVALIDITY, UID, Message-ID), so running the import again copies only what
is new; when the source's UIDVALIDITY changed, the Message-ID still recognises a
message already copied. The source is only read (EXAMINE, BODY.PEEK).
"""

from __future__ import annotations

import datetime as dt
import imaplib
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailrs.db.models import ImportedMessage
from mailrs.store import mutf7
from mailrs.store.mailbox import MailboxService
from mailrs.store.summaries import summarize
from mailrs.store.transfer import ensure_folder, local_folder, to_crlf

BATCH = 50
SYSTEM_FLAGS = {
    "\\seen": "S",
    "\\answered": "R",
    "\\flagged": "F",
    "\\deleted": "T",
    "\\draft": "D",
}
_LIST = re.compile(rb'^\((?P<flags>[^)]*)\) (?P<delim>"(?:[^"\\]|\\.)*"|NIL) (?P<name>.*)$')
_UID = re.compile(rb"\bUID (\d+)")
_FLAGS = re.compile(rb"\bFLAGS \(([^)]*)\)")
_DATE = re.compile(rb'\bINTERNALDATE "([^"]+)"')


class ImapImportError(Exception):
    """The source server refused or answered something unusable."""


@dataclass
class ImportReport:
    """What one run copied and skipped, per local folder."""

    copied: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class SourceFolder:
    """A selectable folder on the source: its name there (as on the wire, modified UTF-7),
    and the name it gets here (decoded)."""

    remote: str
    local: str


def _unquote(raw: bytes) -> str:
    text = raw.decode("utf-8", "replace")
    if text.startswith('"') and text.endswith('"'):
        text = re.sub(r"\\(.)", r"\1", text[1:-1])
    return text


def _decoded(wire: str) -> str:
    """A folder name from LIST: modified UTF-7 (RFC 3501 5.1.3) decoded; a server that
    sends something else (raw UTF-8 after ENABLE UTF8=ACCEPT, say) is taken as it is."""
    try:
        return mutf7.decode(wire)
    except ValueError:
        return wire


def list_folders(client: imaplib.IMAP4) -> list[SourceFolder]:
    """Every selectable folder of the source account."""
    status, lines = client.list()
    if status != "OK":
        raise ImapImportError(f"LIST failed: {lines}")
    folders = []
    for item in lines:
        if item is None:
            continue
        line, literal = (item[0], item[1]) if isinstance(item, tuple) else (item, None)
        match = _LIST.match(line)
        if match is None:
            continue
        flags = match["flags"].lower()
        if b"\\noselect" in flags or b"\\nonexistent" in flags:
            continue
        delimiter = "" if match["delim"] == b"NIL" else _unquote(match["delim"])
        if literal is not None:  # the name was sent as a literal: {n} then the bytes
            remote = literal.decode("utf-8", "replace")
        else:
            remote = _unquote(match["name"].strip())
        parts = _decoded(remote).split(delimiter) if delimiter else [_decoded(remote)]
        folders.append(SourceFolder(remote, local_folder(parts)))
    return sorted(folders, key=lambda f: (f.local != "INBOX", f.local))


def _quoted(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _flags(raw: bytes) -> tuple[str, str]:
    """(Maildir letters, keywords) of an IMAP flag list."""
    letters, keywords = [], []
    for flag in raw.decode("utf-8", "replace").split():
        lowered = flag.lower()
        if lowered in SYSTEM_FLAGS:
            letters.append(SYSTEM_FLAGS[lowered])
        elif not flag.startswith("\\"):
            keywords.append(flag)
    return "".join(sorted(letters)), " ".join(keywords)


def _internaldate(raw: bytes) -> tuple[float, int]:
    """INTERNALDATE as (timestamp, zone in minutes east of UTC)."""
    when = dt.datetime.strptime(raw.decode().strip(), "%d-%b-%Y %H:%M:%S %z")
    offset = when.utcoffset() or dt.timedelta()
    return when.timestamp(), int(offset.total_seconds() // 60)


def _fetch(client: imaplib.IMAP4, uids: list[int]) -> list[tuple[int, str, str, float, int, bytes]]:
    """(uid, letters, keywords, date, zone, bytes) of some messages."""
    status, data = client.uid(
        "FETCH", ",".join(map(str, uids)), "(UID FLAGS INTERNALDATE BODY.PEEK[])"
    )
    if status != "OK":
        raise ImapImportError(f"UID FETCH failed: {data}")
    found = []
    for item in data:
        if not isinstance(item, tuple):
            continue
        meta, body = item
        uid, flags, date = _UID.search(meta), _FLAGS.search(meta), _DATE.search(meta)
        if uid is None or date is None:
            raise ImapImportError(f"FETCH answer without UID or INTERNALDATE: {meta[:200]!r}")
        letters, keywords = _flags(flags[1] if flags else b"")
        when, zone = _internaldate(date[1])
        found.append((int(uid[1]), letters, keywords, when, zone, body))
    return found


def import_imap(
    client: imaplib.IMAP4,
    service: MailboxService,
    session: Session,
    source: str,
    progress: Callable[[str], None] = lambda _: None,
) -> ImportReport:
    """Copy every folder of a logged-in source into the user's mailboxes."""
    report = ImportReport()
    for folder in list_folders(client):
        status, data = client.select(_quoted(folder.remote), readonly=True)
        if status != "OK":
            progress(f"skipped {folder.remote}: {data}")
            continue
        validity = client.response("UIDVALIDITY")[1]
        uidvalidity = int(validity[0]) if validity and validity[0] else 0
        status, data = client.uid("SEARCH", "ALL")
        if status != "OK":
            raise ImapImportError(f"UID SEARCH in {folder.remote} failed: {data}")
        uids = [int(u) for u in (data[0] or b"").split()]
        rows = session.execute(
            select(ImportedMessage.uidvalidity, ImportedMessage.uid, ImportedMessage.message_id)
            .where(ImportedMessage.address == service.address)
            .where(ImportedMessage.source == source)
            .where(ImportedMessage.folder == folder.remote)
        ).all()
        done = {r.uid for r in rows if r.uidvalidity == uidvalidity}
        seen_ids = {r.message_id for r in rows if r.message_id}
        todo = [u for u in uids if u not in done]
        name = ensure_folder(service, folder.local)
        copied = skipped = 0
        for start in range(0, len(todo), BATCH):
            for uid, letters, keywords, when, zone, body in _fetch(
                client, todo[start : start + BATCH]
            ):
                message_id = summarize(body).message_id[:998]
                if message_id and message_id in seen_ids:
                    skipped += 1  # copied before, under an earlier UIDVALIDITY
                else:
                    service.append(name, to_crlf(body), letters, keywords, when, zone)
                    copied += 1
                    if message_id:
                        seen_ids.add(message_id)
                session.add(
                    ImportedMessage(
                        address=service.address,
                        source=source,
                        folder=folder.remote,
                        uidvalidity=uidvalidity,
                        uid=uid,
                        message_id=message_id,
                    )
                )
                session.commit()
        report.copied[name] = copied
        report.skipped[name] = skipped + len(uids) - len(todo)
        progress(f"{folder.remote} -> {name}: {copied} copied, {report.skipped[name]} already here")
    return report
