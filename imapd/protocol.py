"""IMAP protocol constants: capabilities, statuses, response codes, flags and folder roles."""

from __future__ import annotations

from enum import StrEnum

CAPABILITIES: tuple[str, ...] = (
    "IMAP4rev1",
    "IMAP4rev2",
    "LITERAL+",
    "SASL-IR",
    "ID",
    "ENABLE",
    "UTF8=ACCEPT",
    "IDLE",
    "NAMESPACE",
    "UNSELECT",
    "UIDPLUS",
    "MOVE",
    "SPECIAL-USE",
    "CHILDREN",
    "CONDSTORE",
    "QRESYNC",
    "QUOTA",
    "SORT",
    "SORT=DISPLAY",
    "THREAD=ORDEREDSUBJECT",
    "THREAD=REFERENCES",
    "ESEARCH",
    "SEARCHRES",
    "ESORT",
    "CONTEXT=SEARCH",
    "CONTEXT=SORT",
    "NOTIFY",
    "PARTIAL",
    "MULTIAPPEND",
    "CATENATE",
    "BINARY",
    "LIST-EXTENDED",
    "LIST-STATUS",
    "COMPRESS=DEFLATE",
    "URLAUTH",
    "URLAUTH=BINARY",
)


def capabilities(tls_offered: bool, login_allowed: bool, authenticated: bool) -> tuple[str, ...]:
    """What CAPABILITY lists in the connection's current state."""
    if authenticated:
        return CAPABILITIES
    extra = ["STARTTLS"] if tls_offered else []
    extra += ["AUTH=PLAIN"] if login_allowed else ["LOGINDISABLED"]
    return (CAPABILITIES[0], *extra, *CAPABILITIES[1:])


class Status(StrEnum):
    """The condition of a status response."""

    OK = "OK"
    NO = "NO"
    BAD = "BAD"
    BYE = "BYE"


class Code(StrEnum):
    """Response codes (RFC 3501 section 7.1, RFC 5530, RFC 7888)."""

    ALERT = "ALERT"
    APPENDUID = "APPENDUID"
    AUTHENTICATIONFAILED = "AUTHENTICATIONFAILED"
    BADCHARSET = "BADCHARSET"
    BADEVENT = "BADEVENT"
    BADURL = "BADURL"
    CLIENTBUG = "CLIENTBUG"
    CLOSED = "CLOSED"
    COMPRESSIONACTIVE = "COMPRESSIONACTIVE"
    CONTACTADMIN = "CONTACTADMIN"
    COPYUID = "COPYUID"
    HIGHESTMODSEQ = "HIGHESTMODSEQ"
    INUSE = "INUSE"
    LIMIT = "LIMIT"
    MODIFIED = "MODIFIED"
    NOMODSEQ = "NOMODSEQ"
    OVERQUOTA = "OVERQUOTA"
    PRIVACYREQUIRED = "PRIVACYREQUIRED"
    TRYCREATE = "TRYCREATE"
    ALREADYEXISTS = "ALREADYEXISTS"
    UNAVAILABLE = "UNAVAILABLE"
    UNKNOWN_CTE = "UNKNOWN-CTE"
    CANNOT = "CANNOT"
    CAPABILITY = "CAPABILITY"
    EXPUNGEISSUED = "EXPUNGEISSUED"
    NONEXISTENT = "NONEXISTENT"
    NOUPDATE = "NOUPDATE"
    PERMANENTFLAGS = "PERMANENTFLAGS"
    READ_ONLY = "READ-ONLY"
    READ_WRITE = "READ-WRITE"
    SERVERBUG = "SERVERBUG"
    TOOBIG = "TOOBIG"
    UIDNEXT = "UIDNEXT"
    UIDVALIDITY = "UIDVALIDITY"
    UNSEEN = "UNSEEN"
    URLMECH = "URLMECH"


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


FLAG_TO_LETTER: dict[str, str] = {flag.upper(): letter for letter, flag in LETTER_TO_FLAG.items()}


def flags_from_letters(letters: str, recent: bool = False, keywords: str = "") -> list[str]:
    """The IMAP flags of a Maildir info string (and keywords), in a fixed order."""
    flags = [flag for letter, flag in LETTER_TO_FLAG.items() if letter in letters]
    flags.extend(keywords.split())
    if recent:
        flags.append(RECENT)
    return flags
