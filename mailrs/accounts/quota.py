"""Mailbox quotas: reading ``2G``-style sizes, each account's limit, and whether mail fits.

A quota is a byte count on ``users.quota_bytes`` (NULL: unlimited). Usage is what the
user's mailbox index totals (``mailrs.store.usage``). SMTP answers 452 4.2.2 at RCPT for
an account already at or over its quota and 552 5.2.2 after DATA when the message fits
no recipient; delivery refuses (and bounces) a copy that would go over; IMAP answers
``NO [OVERQUOTA]`` to APPEND and COPY.
"""

from __future__ import annotations

import re

from sqlalchemy.orm import Session

from mailrs.accounts.users import find_user
from mailrs.errors import UserNotFound

UNITS = {"": 1, "B": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
UNLIMITED = ("none", "unlimited")
MAX_QUOTA = 2**62
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:I?B)?\s*$", re.IGNORECASE)


def parse_quota(text: str) -> int | None:
    """Bytes for ``2G``, ``500M``, ``10K`` or a plain byte count; None for ``none``.

    Raises ValueError for anything else (negative, unknown unit, absurdly large).
    """
    if text.strip().lower() in UNLIMITED:
        return None
    match = _SIZE.match(text)
    if match is None:
        raise ValueError(f"not a size: {text!r} (use e.g. 500M, 2G, or 'none')")
    value = int(float(match.group(1)) * UNITS[match.group(2).upper()])
    if value > MAX_QUOTA:
        raise ValueError(f"quota too large: {text!r}")
    return value


def format_size(size: int | None) -> str:
    """A byte count for people: ``1.5 GiB``, ``300 KiB``; ``unlimited`` for None."""
    if size is None:
        return "unlimited"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


def quota_of(session: Session, address: str) -> int | None:
    """The account's quota in bytes (None: unlimited, or no such account)."""
    user = find_user(session, address)
    return None if user is None else user.quota_bytes


def set_quota(session: Session, address: str, quota: int | None) -> None:
    """Set (or with None remove) an account's quota."""
    user = find_user(session, address)
    if user is None:
        raise UserNotFound(f"no user {address}")
    if quota is not None and quota < 0:
        raise ValueError("a quota cannot be negative")
    user.quota_bytes = quota
    session.commit()


def is_full(limit: int | None, used: int) -> bool:
    """True when an account with this limit and usage takes no more mail."""
    return limit is not None and used >= limit


def fits(limit: int | None, used: int, size: int) -> bool:
    """True when ``size`` more bytes stay within the limit."""
    return limit is None or used + size <= limit
