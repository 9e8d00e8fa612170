"""Short summaries of stored messages (subject, sender, date) for lists, read from headers only."""

from __future__ import annotations

import datetime as dt
import email.utils
from dataclasses import dataclass
from email.header import decode_header, make_header
from email.parser import HeaderParser
from email.policy import compat32

MAX_HEADER_BYTES = 64 * 1024


@dataclass(frozen=True)
class Summary:
    """What a message list shows of one message."""

    subject: str
    sender: str
    date: dt.datetime | None
    message_id: str


def _decode(value: str | None) -> str:
    if not value:
        return ""
    try:
        return str(make_header(decode_header(value))).strip()
    except (UnicodeError, LookupError, ValueError):
        return value.strip()


def header_block(data: bytes) -> bytes:
    """The header section of a raw message (up to the first empty line, bounded)."""
    head = data[:MAX_HEADER_BYTES]
    for sep in (b"\r\n\r\n", b"\n\n"):
        end = head.find(sep)
        if end != -1:
            return head[: end + len(sep)]
    return head


def _header_text(block: bytes) -> str:
    """Header bytes as text: UTF-8 (RFC 6532), else Latin-1 so nothing is lost."""
    try:
        return block.decode("utf-8")
    except UnicodeDecodeError:
        return block.decode("latin-1")


def summarize(data: bytes) -> Summary:
    """Subject, decoded From and Date of a raw message; never raises on bad headers."""
    headers = HeaderParser(policy=compat32).parsestr(_header_text(header_block(data)))
    date = None
    raw_date = headers.get("Date")
    if raw_date:
        try:
            date = email.utils.parsedate_to_datetime(str(raw_date))
        except (TypeError, ValueError, IndexError):
            date = None
    return Summary(
        subject=_decode(headers.get("Subject")),
        sender=_decode(headers.get("From")),
        date=date,
        message_id=str(headers.get("Message-ID") or "").strip(),
    )
