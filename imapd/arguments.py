"""The IMAP argument grammar: sequence sets, flags, dates and FETCH attributes on a cursor.

Pure functions of a ``Cursor`` (``imapd.cursor``), each reading one kind of argument
the command grammar (``imapd.parser``) and the search grammar (``imapd.search_parser``)
share, and raising the cursor's tagged ``ParseError`` for anything else.
"""

from __future__ import annotations

import calendar
import re

from imapd.cursor import ATOM_CHARS, DIGITS, Cursor
from imapd.parsed import FetchItem, Section
from imapd.sequences import SequenceSet, SequenceSetError, parse_sequence_set

SEQUENCE_CHARS = frozenset(b"0123456789:*,")
MAX_MODSEQ = 2**63 - 1
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
SYSTEM_FLAG_NAMES = {
    "\\ANSWERED": "\\Answered",
    "\\FLAGGED": "\\Flagged",
    "\\DELETED": "\\Deleted",
    "\\SEEN": "\\Seen",
    "\\DRAFT": "\\Draft",
}
_LETTERS = frozenset(range(0x41, 0x5B)) | frozenset(range(0x61, 0x7B))
_DATE_TIME = re.compile(  # the day may also be one digit ("1-Feb-2024"), as Dovecot accepts
    r"( ?[0-9]|[0-9]{2})-([A-Za-z]{3})-([0-9]{4})"
    r" ([0-9]{2}):([0-9]{2}):([0-9]{2}) ([+-])([0-9]{4})\Z"
)


def sequence_set(cur: Cursor) -> SequenceSet:
    """A sequence set, or ``$`` (the saved search result, RFC 5182)."""
    if cur.maybe("$"):
        return SequenceSet((), saved=True)
    try:
        return parse_sequence_set(cur.take(SEQUENCE_CHARS, "a sequence set"))
    except SequenceSetError as exc:
        raise cur.error(str(exc)) from None


def modseq(cur: Cursor) -> int:
    """A mod-sequence value (RFC 7162): a number up to 2**63 - 1."""
    return cur.number(MAX_MODSEQ)


def flag(cur: Cursor) -> str:
    """A flag: a system flag (canonical case) or a keyword; \\Recent and \\* refused."""
    if cur.maybe("\\"):
        word = "\\" + cur.atom()
        canonical = SYSTEM_FLAG_NAMES.get(word.upper())
        if canonical is None:
            raise cur.error(f"flag {word[:40]} cannot be stored")
        return canonical
    return cur.atom()


def flag_list(cur: Cursor) -> tuple[str, ...]:
    """``(flag ...)``."""
    cur.char("(", "expected a flag list")
    flags: list[str] = []
    if not cur.maybe(")"):
        flags.append(flag(cur))
        while cur.maybe(" "):
            flags.append(flag(cur))
        cur.char(")", "expected ')' after the flags")
    return tuple(flags)


def date(cur: Cursor) -> tuple[int, int, int]:
    """A search date (``1-Feb-2024``, maybe quoted) as (year, month, day)."""
    quoted = cur.maybe('"')
    day = cur.take(DIGITS, "a day")
    cur.char("-", "expected '-' in date")
    month = cur.take(_LETTERS, "a month")
    cur.char("-", "expected '-' in date")
    year = cur.take(DIGITS, "a year")
    if quoted:
        cur.char('"', "unterminated date")
    if len(day) > 2 or len(year) != 4 or month.upper() not in MONTHS:
        raise cur.error("invalid date")
    month_number = MONTHS.index(month.upper()) + 1
    if not 1 <= int(day) <= calendar.monthrange(int(year), month_number)[1]:
        raise cur.error("invalid day of month")
    return int(year), month_number, int(day)


def date_time(cur: Cursor) -> tuple[float, int]:
    """An APPEND date-time (``"dd-Mon-yyyy hh:mm:ss +zzzz"``): POSIX time, zone minutes."""
    if cur.peek() != ord('"'):
        raise cur.error("expected a date-time")
    text = cur.quoted().decode("ascii", "replace")
    match = _DATE_TIME.match(text)
    if match is None or match.group(2).upper() not in MONTHS:
        raise cur.error("invalid date-time")
    day, month = int(match.group(1)), MONTHS.index(match.group(2).upper()) + 1
    year = int(match.group(3))
    hour, minute, second = (int(match.group(i)) for i in (4, 5, 6))
    zone = int(match.group(8))
    if not 1 <= day <= calendar.monthrange(year, month)[1] or hour > 23 or minute > 59:
        raise cur.error("invalid date-time")
    if second > 60 or zone % 100 > 59:
        raise cur.error("invalid date-time")
    offset = (zone // 100 * 3600 + zone % 100 * 60) * (-1 if match.group(7) == "-" else 1)
    epoch = float(calendar.timegm((year, month, day, hour, minute, second)) - offset)
    return epoch, offset // 60


# -- FETCH attributes ------------------------------------------------------------------------

SIMPLE_FETCH_ITEMS = (
    "FLAGS",
    "UID",
    "RFC822.SIZE",
    "INTERNALDATE",
    "ENVELOPE",
    "BODYSTRUCTURE",
    "BODY",
    "RFC822",
    "RFC822.HEADER",
    "RFC822.TEXT",
    "MODSEQ",
)
FETCH_MACROS: dict[str, tuple[str, ...]] = {
    "FAST": ("FLAGS", "INTERNALDATE", "RFC822.SIZE"),
    "ALL": ("FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"),
    "FULL": ("FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY"),
}
_ITEM_NAME_CHARS = ATOM_CHARS - {ord("["), ord("<")}
_SECTION_WORD_CHARS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz.")
_MSGTEXT = ("HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT", "TEXT")


def fetch_attributes(cur: Cursor) -> tuple[FetchItem, ...]:
    """A macro (ALL, FAST, FULL), one FETCH data item, or a parenthesised list of them."""
    items: list[FetchItem] = []
    if cur.maybe("("):
        items.append(fetch_item(cur))
        while cur.maybe(" "):
            items.append(fetch_item(cur))
        cur.char(")", "expected ')' after FETCH data items")
    else:
        start = cur.pos
        word = cur.take(_ITEM_NAME_CHARS, "a FETCH data item").upper()
        if word in FETCH_MACROS:
            items.extend(FetchItem(name) for name in FETCH_MACROS[word])
        else:
            cur.pos = start
            items.append(fetch_item(cur))
    return tuple(items)


def fetch_item(cur: Cursor) -> FetchItem:
    """One FETCH data item: a simple name or BODY[.PEEK][section]<partial>."""
    name = cur.take(_ITEM_NAME_CHARS, "a FETCH data item").upper()
    if name in ("BODY", "BODY.PEEK") and cur.peek() == ord("["):
        section = _section(cur)
        partial = _partial(cur) if cur.peek() == ord("<") else None
        return FetchItem("BODY", section=section, peek=name == "BODY.PEEK", partial=partial)
    if name in ("BINARY", "BINARY.PEEK", "BINARY.SIZE") and cur.peek() == ord("["):
        section = _section(cur)  # RFC 3516: part numbers only
        if section.specifier:
            raise cur.error("a BINARY section is part numbers only")
        if name == "BINARY.SIZE":
            return FetchItem(name, section=section, peek=True)
        partial = _partial(cur) if cur.peek() == ord("<") else None
        return FetchItem("BINARY", section=section, peek=name == "BINARY.PEEK", partial=partial)
    if name in SIMPLE_FETCH_ITEMS:
        return FetchItem(name)
    raise cur.error(f"unknown FETCH data item {name[:40]}")


def _section(cur: Cursor) -> Section:
    cur.char("[")
    part: list[int] = []
    specifier = ""
    fields: tuple[str, ...] = ()
    while cur.peek() is not None and cur.data[cur.pos] in DIGITS:
        part.append(cur.nz_number())
        if not cur.maybe("."):
            break
    if cur.peek() != ord("]"):
        if part and cur.data[cur.pos - 1] != ord("."):
            raise cur.error("expected '.' after a part number")
        specifier = cur.take(_SECTION_WORD_CHARS, "a section name").upper()
        allowed = _MSGTEXT + ("MIME",) if part else _MSGTEXT
        if specifier not in allowed:
            raise cur.error(f"unknown section {specifier[:40]}")
        if specifier.startswith("HEADER.FIELDS"):
            cur.sp()
            cur.char("(", "expected '(' before the header field names")
            names = [cur.astring("a header field name").upper()]
            while cur.maybe(" "):
                names.append(cur.astring("a header field name").upper())
            cur.char(")", "expected ')' after the header field names")
            fields = tuple(names)
    elif part and cur.data[cur.pos - 1] == ord("."):
        raise cur.error("section ends with '.'")
    cur.char("]", "expected ']' after the section")
    return Section(specifier, tuple(part), fields)


def section(cur: Cursor) -> Section:
    """``[section]`` as in BODY[...] (also an IMAP URL's ;SECTION=, RFC 5092)."""
    return _section(cur)


def _partial(cur: Cursor) -> tuple[int, int]:
    cur.char("<")
    start = cur.number()
    cur.char(".", "expected '.' in partial range")
    length = cur.nz_number()
    cur.char(">", "malformed partial range")
    return (start, length)
