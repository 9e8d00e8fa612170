"""What a Sieve script decided for one delivered message."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FileInto:
    """Store a copy in ``mailbox`` (``keep`` is a FileInto INBOX) with IMAP flags."""

    mailbox: str
    flags: tuple[str, ...] = ()
    create: bool = False


@dataclass(frozen=True)
class Redirect:
    """Relay a copy, unchanged, to another address."""

    address: str


@dataclass(frozen=True)
class Reject:
    """Refuse the message with a reason (``extended``: ereject)."""

    reason: str
    extended: bool = False


@dataclass(frozen=True)
class Vacation:
    """Answer the sender once per ``days`` (RFC 5230); the caller applies the loop rules."""

    reason: str
    subject: str = ""
    days: int = 7
    addresses: tuple[str, ...] = ()
    from_address: str = ""
    handle: str = ""
    mime: bool = False


@dataclass
class Outcome:
    """Every action of a run; an empty ``stores`` with ``discarded`` means nothing is kept."""

    stores: list[FileInto] = field(default_factory=list)
    redirects: list[Redirect] = field(default_factory=list)
    reject: Reject | None = None
    vacation: Vacation | None = None
    discarded: bool = False
    error: str = ""  # a run-time error: the message is kept in INBOX (RFC 5228 section 2.10.6)
