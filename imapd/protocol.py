"""IMAP protocol constants: capabilities, statuses, response codes, flags and folder roles."""

from __future__ import annotations

from enum import StrEnum

CAPABILITIES: tuple[str, ...] = ("IMAP4rev1", "LITERAL+")


class Status(StrEnum):
    """The condition of a status response."""

    OK = "OK"
    NO = "NO"
    BAD = "BAD"
    BYE = "BYE"


class Code(StrEnum):
    """Response codes (RFC 3501 section 7.1, RFC 5530, RFC 7888)."""

    AUTHENTICATIONFAILED = "AUTHENTICATIONFAILED"
    CANNOT = "CANNOT"
    CAPABILITY = "CAPABILITY"
    EXPUNGEISSUED = "EXPUNGEISSUED"
    NONEXISTENT = "NONEXISTENT"
    PERMANENTFLAGS = "PERMANENTFLAGS"
    READ_ONLY = "READ-ONLY"
    READ_WRITE = "READ-WRITE"
    SERVERBUG = "SERVERBUG"
    TOOBIG = "TOOBIG"
    UIDNEXT = "UIDNEXT"
    UIDVALIDITY = "UIDVALIDITY"
    UNSEEN = "UNSEEN"


# Maildir info letters and the IMAP system flags they stand for ("P", passed, has none).
LETTER_TO_FLAG: dict[str, str] = {
    "R": "\\Answered",
    "F": "\\Flagged",
    "T": "\\Deleted",
    "S": "\\Seen",
    "D": "\\Draft",
}
SYSTEM_FLAGS: tuple[str, ...] = tuple(LETTER_TO_FLAG.values())
RECENT = "\\Recent"
SEEN_LETTER = "S"

# SPECIAL-USE attributes (RFC 6154) of the top-level folders every account has.
SPECIAL_USE: dict[str, str] = {
    "Sent": "\\Sent",
    "Drafts": "\\Drafts",
    "Trash": "\\Trash",
    "Junk": "\\Junk",
    "Archive": "\\Archive",
}


def flags_from_letters(letters: str, recent: bool = False) -> list[str]:
    """The IMAP flags of a Maildir info string, in a fixed order."""
    flags = [flag for letter, flag in LETTER_TO_FLAG.items() if letter in letters]
    if recent:
        flags.append(RECENT)
    return flags
