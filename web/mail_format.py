"""How the mail pages write dates and sizes for people (template filters of ``web.mail``)."""

from __future__ import annotations

import datetime as dt
import email.utils


def date_label(when: dt.datetime) -> str:
    """A date as the lists show it, e.g. ``3 Mar 2025, 14:05``."""
    return f"{when.day} {when:%b %Y, %H:%M}"


def relative_date(when: dt.datetime, now: dt.datetime | None = None) -> str:
    """A date relative to now: ``14:05`` today, ``Mon`` this week, ``3 Mar``, ``3 Mar 2024``."""
    now = now or dt.datetime.now(when.tzinfo or dt.UTC)
    if when.date() == now.date():
        return f"{when:%H:%M}"
    if dt.timedelta(0) < now - when < dt.timedelta(days=6):
        return f"{when:%a}"
    if when.year == now.year:
        return f"{when.day} {when:%b}"
    return f"{when.day} {when:%b %Y}"


def mail_date(value: str) -> str:
    """A Date: header as ``Mon 3 Mar 2025, 14:05 +0100``; the raw text when unparsable."""
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return value
    zone = when.strftime("%z") if when.tzinfo else ""
    return f"{when:%a} {when.day} {when:%b %Y, %H:%M} {zone}".strip()


def file_size(size: int) -> str:
    """A byte count for people: ``512 bytes``, ``14 KB``, ``2.5 MB``."""
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / (1024 * 1024):.1f} MB"
