"""Mail in and out of a user's mailboxes: mbox and Maildir imports, and exports.

Imports write through the mailbox service (``MailboxService.append``), so every
message gets its UID, flags and date in the index and the usual change events. Line
ends are made CRLF, as SMTP and IMAP deliver them. Exports read through the service
and write plain files outside the store: one Maildir++ tree, or one mbox per folder.
"""

from __future__ import annotations

import calendar
import mailbox
import os
import re
import time
from pathlib import Path

from mailrs.store.mailbox import MailboxService
from mailrs.store.names import INBOX
from mailrs.store.summaries import summarize

MAILDIR_LETTERS = "DFPRST"
_LINE_END = re.compile(rb"\r?\n")
_FROM_LINE = re.compile(rb"^(>*From )", re.MULTILINE)
_QUOTED_FROM = re.compile(rb"^>(>*From )", re.MULTILINE)
_MBOX_STATUS = re.compile(rb"^(status|x-status):", re.IGNORECASE)


def to_crlf(data: bytes) -> bytes:
    """``data`` with every line ending in CRLF."""
    return _LINE_END.sub(b"\r\n", data)


def local_folder(parts: list[str]) -> str:
    """Source folder levels as one of our mailbox names (``.`` is not allowed in a level)."""
    if len(parts) == 1 and parts[0].upper() == INBOX:
        return INBOX
    return "/".join(part.replace(".", "_").strip() or "_" for part in parts)


def ensure_folder(service: MailboxService, name: str) -> str:
    """Create the mailbox when missing; its canonical name."""
    if name == INBOX or service.exists(name):
        return name
    return service.create_folder(name)


def _letters(flags: str) -> str:
    return "".join(sorted(set(flags) & set(MAILDIR_LETTERS)))


def _header_date(data: bytes) -> float | None:
    date = summarize(data).date
    return date.timestamp() if date else None


def _from_line_date(message: mailbox.mboxMessage) -> float | None:
    """The time in an mbox ``From sender Www Mmm dd hh:mm:ss yyyy`` line (UTC)."""
    parts = message.get_from().split()
    try:
        return float(calendar.timegm(time.strptime(" ".join(parts[-5:]), "%a %b %d %H:%M:%S %Y")))
    except ValueError:
        return None


def from_mbox(data: bytes) -> bytes:
    """A message as stored in an mbox, back as sent: no Status fields, ``>From`` unquoted."""
    data = data.replace(b"\r\n", b"\n")
    head, sep, body = data.partition(b"\n\n")
    lines = [line for line in head.split(b"\n") if not _MBOX_STATUS.match(line)]
    return to_crlf(b"\n".join(lines) + sep + _QUOTED_FROM.sub(rb"\1", body))


def import_mbox(service: MailboxService, path: Path, folder: str = INBOX) -> int:
    """Append every message of an mbox file to ``folder``; the number imported."""
    if not path.is_file():
        raise FileNotFoundError(f"{path} is not an mbox file")
    box = mailbox.mbox(path, create=False)
    name = ensure_folder(service, folder)
    count = 0
    try:
        for key in box.iterkeys():
            data = from_mbox(box.get_bytes(key))
            message = box.get_message(key)
            letters = _letters(mailbox.MaildirMessage(message).get_flags())
            date = _from_line_date(message) or _header_date(data)
            service.append(name, data, letters=letters, date=date)
            count += 1
    finally:
        box.close()
    return count


def import_maildir(service: MailboxService, path: Path, folder: str = "") -> dict[str, int]:
    """Append every message of a Maildir (and its Maildir++ folders); counts per folder.

    With ``folder``, the source's INBOX goes there and its folders below it.
    """
    if not (path / "cur").is_dir():
        raise FileNotFoundError(f"{path} is not a Maildir (no cur/)")
    root = mailbox.Maildir(path, factory=None, create=False)
    sources: list[tuple[list[str], mailbox.Maildir]] = [([INBOX], root)]
    sources += [(name.split("."), root.get_folder(name)) for name in sorted(root.list_folders())]
    counts: dict[str, int] = {}
    for parts, box in sources:
        target = local_folder(parts)
        if folder:
            target = folder if target == INBOX else f"{folder}/{target}"
        name = ensure_folder(service, target)
        count = 0
        for key in sorted(box.keys(), key=lambda k: (box.get_message(k).get_date(), k)):
            message = box.get_message(key)
            data = to_crlf(box.get_bytes(key))
            service.append(
                name, data, letters=_letters(message.get_flags()), date=message.get_date()
            )
            count += 1
        counts[name] = count
    return counts


def export_maildir(service: MailboxService, target: Path) -> dict[str, int]:
    """Every folder into one Maildir++ tree at ``target`` (INBOX at its root)."""
    counts: dict[str, int] = {}
    for name in service.list_folders():
        folder = target if name == INBOX else target / ("." + name.replace("/", "."))
        for sub in ("cur", "new", "tmp"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        messages = service.messages(name)
        for message in messages:
            data = service.read(name, message.key, message.filename)
            path = folder / "cur" / f"{message.key}:2,{_letters(message.flags)}"
            path.write_bytes(data)
            os.utime(path, (message.internaldate, message.internaldate))
        counts[name] = len(messages)
    return counts


def _mbox_entry(data: bytes, flags: str, when: float) -> bytes:
    """One mbox entry (mboxrd: ``From `` lines in the body quoted with ``>``)."""
    data = data.replace(b"\r\n", b"\n")
    head, sep, body = data.partition(b"\n\n")
    status = ("R" if "S" in flags else "") + "O"
    xstatus = "".join(c for flag, c in (("R", "A"), ("F", "F"), ("T", "D")) if flag in flags)
    extra = f"Status: {status}\nX-Status: {xstatus}\n".encode()
    stamp = time.strftime("%a %b %d %H:%M:%S %Y", time.gmtime(when)).encode()
    body = _FROM_LINE.sub(rb">\1", body)
    entry = b"From MAILER-DAEMON " + stamp + b"\n" + head + b"\n" + extra + sep[:1] + body
    return entry if entry.endswith(b"\n") else entry + b"\n"


def export_mbox(service: MailboxService, target: Path) -> dict[str, int]:
    """Every folder into ``target/<folder>.mbox`` (levels as subfolders)."""
    counts: dict[str, int] = {}
    for name in service.list_folders():
        path = target / f"{name}.mbox"
        path.parent.mkdir(parents=True, exist_ok=True)
        messages = service.messages(name)
        with path.open("wb") as out:
            for message in messages:
                data = service.read(name, message.key, message.filename)
                out.write(_mbox_entry(data, message.flags, message.internaldate) + b"\n")
        counts[name] = len(messages)
    return counts
