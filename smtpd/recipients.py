"""Envelope policy as pure functions: which names, senders and recipients are acceptable."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

MAX_PATH = 254  # RFC 5321 4.5.3.1.3: a path is at most 256 octets with its brackets
MAX_DOMAIN = 255


@dataclass(frozen=True)
class RecipientFacts:
    """What the lookups found out about one RCPT TO address."""

    well_formed: bool
    local_domain: bool
    known: bool  # resolves to an account, an alias or a catch-all
    authenticated: bool
    full: bool = False  # every local target is at or over its quota, and none is remote
    unlimited: bool = False  # some target takes a message of any size (remote, or no quota)


class RecipientStatus(Enum):
    """The decision on one RCPT TO (the handler answers it with a named reply)."""

    ACCEPTED = "accepted"
    BAD_SYNTAX = "bad syntax"
    NO_SUCH_USER = "no such user"
    RELAY_DENIED = "relay denied"
    MAILBOX_FULL = "mailbox full"


def recipient_decision(facts: RecipientFacts) -> RecipientStatus:
    """The decision on a RCPT TO: local addresses that resolve; remote only after AUTH."""
    if not facts.well_formed:
        return RecipientStatus.BAD_SYNTAX
    if facts.local_domain:
        if not facts.known:
            return RecipientStatus.NO_SUCH_USER
        return RecipientStatus.MAILBOX_FULL if facts.full else RecipientStatus.ACCEPTED
    return RecipientStatus.ACCEPTED if facts.authenticated else RecipientStatus.RELAY_DENIED


def clean_text(text: str) -> bool:
    """True for text with no control characters and nothing that is not valid UTF-8."""
    return all(ch >= " " and ch != "\x7f" and not 0xD800 <= ord(ch) <= 0xDFFF for ch in text)


def helo_acceptable(hostname: str) -> bool:
    """A HELO/EHLO argument we can record: printable, valid UTF-8, of sane length."""
    return 0 < len(hostname) <= MAX_DOMAIN and clean_text(hostname) and " " not in hostname


def sender_acceptable(address: str) -> bool:
    """A MAIL FROM path we can record ('' is the null sender)."""
    return len(address) <= MAX_PATH and clean_text(address) and " " not in address


def normalize_sender(address: str | None) -> str:
    """The stored form of MAIL FROM: the null sender ``<>`` becomes ''."""
    if address is None or address.strip() in ("", "<>"):
        return ""
    return address.strip()
