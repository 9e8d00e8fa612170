"""The command parser: complete command bytes (literals included) to command objects.

Pure: no I/O and no state. ``framing`` collects one command's bytes (the lines and
the literal data between them, without the final CRLF); ``parse_command`` checks them
against the RFC 3501 grammar (plus the extensions this server announces) and raises
``ParseError`` (tagged when the tag was readable) for anything else. Search keys are
parsed by ``imapd.search_parser``, which shares the cursor defined here.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from imapd.errors import ParseError, UnknownCommand
from imapd.sequences import MAX_NUMBER, SequenceSet, SequenceSetError, parse_sequence_set

ATOM_CHARS = frozenset(range(0x21, 0x7F)) - set(b'(){%*"\\]')
ASTRING_CHARS = ATOM_CHARS | {ord("]")}
LIST_CHARS = ATOM_CHARS | set(b"%*]")
TAG_CHARS = ASTRING_CHARS - {ord("+")}
SEQUENCE_CHARS = frozenset(b"0123456789:*,")
DIGITS = frozenset(b"0123456789")
MAX_LITERAL_DIGITS = 12
MAX_MODSEQ = 2**63 - 1
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
SYSTEM_FLAG_NAMES = {
    "\\ANSWERED": "\\Answered",
    "\\FLAGGED": "\\Flagged",
    "\\DELETED": "\\Deleted",
    "\\SEEN": "\\Seen",
    "\\DRAFT": "\\Draft",
}

_LITERAL_AT_END = re.compile(rb"\{([0-9]+)(\+?)\}\r?\n\Z")
_LITERAL_START = re.compile(rb"\{([0-9]{1,12})\+?\}\r?\n")
_DATE_TIME = re.compile(  # the day may also be one digit ("1-Feb-2024"), as Dovecot accepts
    r"( ?[0-9]|[0-9]{2})-([A-Za-z]{3})-([0-9]{4})"
    r" ([0-9]{2}):([0-9]{2}):([0-9]{2}) ([+-])([0-9]{4})\Z"
)


# -- framing helpers ---------------------------------------------------------------------


@dataclass(frozen=True)
class LiteralAnnouncement:
    """A ``{n}`` (synchronising) or ``{n+}`` literal announced at the end of a line."""

    size: int
    synchronizing: bool


def literal_at_end(line: bytes) -> LiteralAnnouncement | None:
    """The literal that ``line`` (with its line ending) announces, if any.

    A size with too many digits to be sane is reported as -1 (always too large).
    """
    match = _LITERAL_AT_END.search(line)
    if match is None:
        return None
    digits = match.group(1)
    size = int(digits) if len(digits) <= MAX_LITERAL_DIGITS else -1
    return LiteralAnnouncement(size=size, synchronizing=not match.group(2))


def peek_tag(data: bytes) -> str | None:
    """The tag at the start of ``data`` when it is a valid tag followed by a space."""
    end = 0
    while end < len(data) and data[end] in TAG_CHARS:
        end += 1
    if end == 0 or end >= len(data) or data[end] != 0x20:
        return None
    return data[:end].decode("ascii")


# -- command objects ---------------------------------------------------------------------


@dataclass(frozen=True)
class NoArgs:
    """Arguments of a command that takes none."""


@dataclass(frozen=True)
class LoginArgs:
    """LOGIN user password."""

    username: str
    password: str


@dataclass(frozen=True)
class AuthenticateArgs:
    """AUTHENTICATE mechanism [initial-response]."""

    mechanism: str
    initial: str | None = None


@dataclass(frozen=True)
class MailboxArgs:
    """A command whose one argument is a mailbox name (as sent: modified UTF-7)."""

    mailbox: str
    condstore: bool = False  # SELECT/EXAMINE mailbox (CONDSTORE)


@dataclass(frozen=True)
class RenameArgs:
    """RENAME existing new."""

    old: str
    new: str


@dataclass(frozen=True)
class ListArgs:
    """LIST/LSUB reference pattern."""

    reference: str
    pattern: str


@dataclass(frozen=True)
class StatusArgs:
    """STATUS mailbox (items)."""

    mailbox: str
    items: tuple[str, ...]


@dataclass(frozen=True)
class AppendArgs:
    """APPEND mailbox [(flags)] [date-time] literal."""

    mailbox: str
    flags: tuple[str, ...]
    date: float | None
    message: bytes
    zone: int | None = None  # the date-time's zone, minutes east of UTC


@dataclass(frozen=True)
class Section:
    """A BODY[...] section: part numbers, then "", HEADER, HEADER.FIELDS[.NOT], TEXT or MIME."""

    specifier: str = ""
    part: tuple[int, ...] = ()
    fields: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        """The section as written in a FETCH response."""
        parts = [".".join(str(n) for n in self.part)] if self.part else []
        if self.specifier:
            parts.append(self.specifier)
        text = ".".join(parts)
        if self.fields:
            text += " (" + " ".join(self.fields) + ")"
        return text


@dataclass(frozen=True)
class FetchItem:
    """One FETCH data item: a simple name, or BODY with a section and maybe a partial range."""

    name: str
    section: Section | None = None
    peek: bool = False
    partial: tuple[int, int] | None = None

    @property
    def response_name(self) -> str:
        """How the item is named in the FETCH response (never ``.PEEK``)."""
        if self.section is None:
            return self.name
        name = f"{self.name}[{self.section.text}]"
        return name if self.partial is None else f"{name}<{self.partial[0]}>"


@dataclass(frozen=True)
class FetchArgs:
    """FETCH sequence-set items [(CHANGEDSINCE n)]."""

    sequence: SequenceSet
    items: tuple[FetchItem, ...]
    changedsince: int | None = None


@dataclass(frozen=True)
class StoreArgs:
    """STORE sequence-set [(UNCHANGEDSINCE n)] [+|-]FLAGS[.SILENT] flags."""

    sequence: SequenceSet
    mode: str  # "+", "-" or "" (replace)
    silent: bool
    flags: tuple[str, ...]
    unchangedsince: int | None = None


@dataclass(frozen=True)
class CopyArgs:
    """COPY/MOVE sequence-set mailbox."""

    sequence: SequenceSet
    mailbox: str


@dataclass(frozen=True)
class SequenceArgs:
    """A command whose one argument is a sequence set (UID EXPUNGE)."""

    sequence: SequenceSet


@dataclass(frozen=True)
class SearchKey:
    """One search key: its name and arguments (other keys for NOT, OR and lists)."""

    op: str
    args: tuple[object, ...] = ()


@dataclass(frozen=True)
class SearchArgs:
    """SEARCH [CHARSET name] keys (the keys ANDed in ``criteria``)."""

    charset: str | None
    criteria: SearchKey


@dataclass(frozen=True)
class AtomsArgs:
    """ENABLE capability... (upper-cased atoms)."""

    names: tuple[str, ...]


@dataclass(frozen=True)
class IdArgs:
    """ID (field value ...) or ID NIL."""

    fields: tuple[tuple[str, str | None], ...] | None


type Args = (
    NoArgs
    | LoginArgs
    | AuthenticateArgs
    | MailboxArgs
    | RenameArgs
    | ListArgs
    | StatusArgs
    | AppendArgs
    | FetchArgs
    | StoreArgs
    | CopyArgs
    | SequenceArgs
    | SearchArgs
    | AtomsArgs
    | IdArgs
)


@dataclass(frozen=True)
class Command:
    """One parsed command."""

    tag: str
    name: str
    args: Args = field(default_factory=NoArgs)
    uid: bool = False

    @property
    def key(self) -> str:
        """The name the command table uses: ``FETCH`` or ``UID FETCH``."""
        return f"UID {self.name}" if self.uid else self.name


# -- the cursor ----------------------------------------------------------------------------


class Cursor:
    """A position in the command bytes with the grammar's token readers."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0
        self.tag: str | None = None

    def error(self, message: str) -> ParseError:
        """A parse error carrying the command's tag."""
        return ParseError(message, tag=self.tag)

    def peek(self) -> int | None:
        """The next byte, or None at the end."""
        return self.data[self.pos] if self.pos < len(self.data) else None

    def at_end(self) -> bool:
        """True when every byte has been read."""
        return self.pos >= len(self.data)

    def end(self) -> None:
        """Require the end of the command."""
        if not self.at_end():
            raise self.error("unexpected characters at the end of the command")

    def sp(self) -> None:
        """Require one space."""
        if self.peek() != 0x20:
            raise self.error("expected a space")
        self.pos += 1

    def char(self, ch: str, what: str = "") -> None:
        """Require one given character."""
        if self.peek() != ord(ch):
            raise self.error(what or f"expected '{ch}'")
        self.pos += 1

    def maybe(self, ch: str) -> bool:
        """Consume ``ch`` if it comes next."""
        if self.peek() == ord(ch):
            self.pos += 1
            return True
        return False

    def take(self, allowed: frozenset[int] | set[int], what: str) -> str:
        """The longest run of allowed bytes (at least one)."""
        start = self.pos
        while self.pos < len(self.data) and self.data[self.pos] in allowed:
            self.pos += 1
        if self.pos == start:
            raise self.error(f"expected {what}")
        return self.data[start : self.pos].decode("ascii")

    def atom(self) -> str:
        """An atom."""
        return self.take(ATOM_CHARS, "an atom")

    def number(self, limit: int = MAX_NUMBER) -> int:
        """A number up to ``limit``."""
        text = self.take(DIGITS, "a number")
        if len(text) > 20 or int(text) > limit:
            raise self.error("number too large")
        return int(text)

    def nz_number(self) -> int:
        """A number greater than zero."""
        value = self.number()
        if value == 0:
            raise self.error("expected a number greater than zero")
        return value

    def sequence_set(self) -> SequenceSet:
        """A sequence set."""
        try:
            return parse_sequence_set(self.take(SEQUENCE_CHARS, "a sequence set"))
        except SequenceSetError as exc:
            raise self.error(str(exc)) from None

    def astring(self, what: str) -> str:
        """An atom, quoted string or literal, as text."""
        if self.peek() in (ord('"'), ord("{")):
            return self.string(what)
        return self.take(ASTRING_CHARS, what)

    def nstring(self, what: str) -> str | None:
        """A string or NIL."""
        if self.peek() in (ord('"'), ord("{")):
            return self.string(what)
        word = self.atom()
        if word.upper() != "NIL":
            raise self.error(f"expected {what} or NIL")
        return None

    def list_mailbox(self) -> str:
        """A LIST pattern."""
        if self.peek() in (ord('"'), ord("{")):
            return self.string("a mailbox pattern")
        return self.take(LIST_CHARS, "a mailbox pattern")

    def string(self, what: str) -> str:
        """A quoted string or literal decoded as UTF-8."""
        raw = self.raw_string(what)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise self.error(f"{what} is not valid UTF-8") from None

    def raw_string(self, what: str) -> bytes:
        """A quoted string or literal as bytes."""
        if self.peek() == ord('"'):
            return self.quoted()
        if self.peek() == ord("{"):
            return self.literal()
        raise self.error(f"expected {what}")

    def quoted(self) -> bytes:
        """A quoted string (the cursor is on the opening quote)."""
        self.pos += 1
        out = bytearray()
        while self.pos < len(self.data):
            byte = self.data[self.pos]
            self.pos += 1
            if byte == ord('"'):
                return bytes(out)
            if byte == ord("\\"):
                escaped = self.peek()
                if escaped not in (ord('"'), ord("\\")):
                    raise self.error("bad escape in quoted string")
                out.append(escaped)
                self.pos += 1
            elif byte in (0, 0x0A, 0x0D):
                raise self.error("quoted string contains CR, LF or NUL")
            else:
                out.append(byte)
        raise self.error("unterminated quoted string")

    def literal(self, allow_nul: bool = False) -> bytes:
        """A literal: ``{n}`` CRLF and n bytes."""
        match = _LITERAL_START.match(self.data, self.pos)
        if match is None:
            raise self.error("malformed literal")
        size = int(match.group(1))
        start = match.end()
        if start + size > len(self.data):
            raise self.error("literal data is truncated")
        data = self.data[start : start + size]
        if not allow_nul and b"\0" in data:
            raise self.error("literal contains NUL")
        self.pos = start + size
        return data

    def flag(self) -> str:
        """A flag: a system flag (canonical case) or a keyword; \\Recent and \\* refused."""
        if self.maybe("\\"):
            word = "\\" + self.atom()
            canonical = SYSTEM_FLAG_NAMES.get(word.upper())
            if canonical is None:
                raise self.error(f"flag {word[:40]} cannot be stored")
            return canonical
        return self.atom()

    def flag_list(self) -> tuple[str, ...]:
        """``(flag ...)``."""
        self.char("(", "expected a flag list")
        flags: list[str] = []
        if not self.maybe(")"):
            flags.append(self.flag())
            while self.maybe(" "):
                flags.append(self.flag())
            self.char(")", "expected ')' after the flags")
        return tuple(flags)

    def date(self) -> tuple[int, int, int]:
        """A search date (``1-Feb-2024``, maybe quoted) as (year, month, day)."""
        quoted = self.maybe('"')
        day = self.take(DIGITS, "a day")
        self.char("-", "expected '-' in date")
        month = self.take(frozenset(range(0x41, 0x5B)) | frozenset(range(0x61, 0x7B)), "a month")
        self.char("-", "expected '-' in date")
        year = self.take(DIGITS, "a year")
        if quoted:
            self.char('"', "unterminated date")
        if len(day) > 2 or len(year) != 4 or month.upper() not in MONTHS:
            raise self.error("invalid date")
        month_number = MONTHS.index(month.upper()) + 1
        if not 1 <= int(day) <= calendar.monthrange(int(year), month_number)[1]:
            raise self.error("invalid day of month")
        return int(year), month_number, int(day)

    def date_time(self) -> tuple[float, int]:
        """An APPEND date-time (``"dd-Mon-yyyy hh:mm:ss +zzzz"``): POSIX time, zone minutes."""
        if self.peek() != ord('"'):
            raise self.error("expected a date-time")
        text = self.quoted().decode("ascii", "replace")
        match = _DATE_TIME.match(text)
        if match is None or match.group(2).upper() not in MONTHS:
            raise self.error("invalid date-time")
        day, month, year = int(match.group(1)), MONTHS.index(match.group(2).upper()) + 1, 0
        year = int(match.group(3))
        hour, minute, second = (int(match.group(i)) for i in (4, 5, 6))
        zone = int(match.group(8))
        if not 1 <= day <= calendar.monthrange(year, month)[1] or hour > 23 or minute > 59:
            raise self.error("invalid date-time")
        if second > 60 or zone % 100 > 59:
            raise self.error("invalid date-time")
        offset = (zone // 100 * 3600 + zone % 100 * 60) * (-1 if match.group(7) == "-" else 1)
        epoch = float(calendar.timegm((year, month, day, hour, minute, second)) - offset)
        return epoch, offset // 60


# -- grammar of each command ---------------------------------------------------------------


def _no_args(cur: Cursor) -> NoArgs:
    cur.end()
    return NoArgs()


def _login(cur: Cursor) -> LoginArgs:
    cur.sp()
    username = cur.astring("a user name")
    cur.sp()
    password = cur.astring("a password")
    cur.end()
    return LoginArgs(username, password)


def _authenticate(cur: Cursor) -> AuthenticateArgs:
    cur.sp()
    mechanism = cur.atom().upper()
    initial = None
    if cur.maybe(" "):
        initial = cur.take(
            frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="),
            "a base64 initial response",
        )
    cur.end()
    return AuthenticateArgs(mechanism, initial)


def _mailbox(cur: Cursor) -> MailboxArgs:
    cur.sp()
    mailbox = cur.astring("a mailbox name")
    cur.end()
    return MailboxArgs(mailbox)


def _select(cur: Cursor) -> MailboxArgs:
    cur.sp()
    mailbox = cur.astring("a mailbox name")
    condstore = False
    if cur.maybe(" "):
        cur.char("(", "expected select parameters")
        while True:
            word = cur.atom().upper()
            if word != "CONDSTORE":
                raise cur.error(f"unknown select parameter {word[:40]}")
            condstore = True
            if not cur.maybe(" "):
                break
        cur.char(")")
    cur.end()
    return MailboxArgs(mailbox, condstore)


def _rename(cur: Cursor) -> RenameArgs:
    cur.sp()
    old = cur.astring("a mailbox name")
    cur.sp()
    new = cur.astring("a mailbox name")
    cur.end()
    return RenameArgs(old, new)


def _list(cur: Cursor) -> ListArgs:
    cur.sp()
    reference = cur.astring("a reference name")
    cur.sp()
    pattern = cur.list_mailbox()
    cur.end()
    return ListArgs(reference, pattern)


STATUS_ITEMS = ("MESSAGES", "RECENT", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "HIGHESTMODSEQ", "SIZE")


def _status(cur: Cursor) -> StatusArgs:
    cur.sp()
    mailbox = cur.astring("a mailbox name")
    cur.sp()
    cur.char("(", "expected '(' before the status items")
    items = []
    while True:
        item = cur.atom().upper()
        if item not in STATUS_ITEMS:
            raise cur.error(f"unknown status item {item[:40]}")
        items.append(item)
        if not cur.maybe(" "):
            break
    cur.char(")", "expected ')' after the status items")
    cur.end()
    return StatusArgs(mailbox, tuple(items))


def _append(cur: Cursor) -> AppendArgs:
    cur.sp()
    mailbox = cur.astring("a mailbox name")
    cur.sp()
    flags: tuple[str, ...] = ()
    date = zone = None
    if cur.peek() == ord("("):
        flags = cur.flag_list()
        cur.sp()
    if cur.peek() == ord('"'):
        date, zone = cur.date_time()
        cur.sp()
    if cur.peek() != ord("{"):
        raise cur.error("expected the message as a literal")
    message = cur.literal(allow_nul=True)
    cur.end()
    return AppendArgs(mailbox, flags, date, message, zone)


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


def _fetch_item(cur: Cursor) -> FetchItem:
    name = cur.take(_ITEM_NAME_CHARS, "a FETCH data item").upper()
    if name in ("BODY", "BODY.PEEK") and cur.peek() == ord("["):
        section = _section(cur)
        partial = _partial(cur) if cur.peek() == ord("<") else None
        return FetchItem("BODY", section=section, peek=name == "BODY.PEEK", partial=partial)
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


def _partial(cur: Cursor) -> tuple[int, int]:
    cur.char("<")
    start = cur.number()
    cur.char(".", "expected '.' in partial range")
    length = cur.nz_number()
    cur.char(">", "malformed partial range")
    return (start, length)


def _fetch(cur: Cursor) -> FetchArgs:
    cur.sp()
    sequence = cur.sequence_set()
    cur.sp()
    items: list[FetchItem] = []
    if cur.maybe("("):
        items.append(_fetch_item(cur))
        while cur.maybe(" "):
            items.append(_fetch_item(cur))
        cur.char(")", "expected ')' after FETCH data items")
    else:
        start = cur.pos
        word = cur.take(_ITEM_NAME_CHARS, "a FETCH data item").upper()
        if word in FETCH_MACROS:
            items.extend(FetchItem(name) for name in FETCH_MACROS[word])
        else:
            cur.pos = start
            items.append(_fetch_item(cur))
    changedsince = None
    if cur.maybe(" "):
        cur.char("(", "expected FETCH modifiers")
        word = cur.atom().upper()
        if word != "CHANGEDSINCE":
            raise cur.error(f"unknown FETCH modifier {word[:40]}")
        cur.sp()
        changedsince = cur.number(MAX_MODSEQ)
        cur.char(")")
    cur.end()
    return FetchArgs(sequence, tuple(items), changedsince)


def _store(cur: Cursor) -> StoreArgs:
    cur.sp()
    sequence = cur.sequence_set()
    cur.sp()
    unchangedsince = None
    if cur.maybe("("):
        word = cur.atom().upper()
        if word != "UNCHANGEDSINCE":
            raise cur.error(f"unknown STORE modifier {word[:40]}")
        cur.sp()
        unchangedsince = cur.number(MAX_MODSEQ)
        cur.char(")")
        cur.sp()
    mode = ""
    if cur.peek() in (ord("+"), ord("-")):
        mode = chr(cur.data[cur.pos])
        cur.pos += 1
    word = cur.atom().upper()
    if word not in ("FLAGS", "FLAGS.SILENT"):
        raise cur.error("expected FLAGS or FLAGS.SILENT")
    cur.sp()
    if cur.peek() == ord("("):
        flags = cur.flag_list()
    else:
        names = [cur.flag()]
        while cur.maybe(" "):
            names.append(cur.flag())
        flags = tuple(names)
    cur.end()
    return StoreArgs(sequence, mode, word.endswith(".SILENT"), flags, unchangedsince)


def _copy(cur: Cursor) -> CopyArgs:
    cur.sp()
    sequence = cur.sequence_set()
    cur.sp()
    mailbox = cur.astring("a mailbox name")
    cur.end()
    return CopyArgs(sequence, mailbox)


def _sequence(cur: Cursor) -> SequenceArgs:
    cur.sp()
    sequence = cur.sequence_set()
    cur.end()
    return SequenceArgs(sequence)


def _search(cur: Cursor) -> SearchArgs:
    from imapd.search_parser import parse_search

    return parse_search(cur)


def _enable(cur: Cursor) -> AtomsArgs:
    names = []
    while cur.maybe(" "):
        names.append(cur.atom().upper())
    if not names:
        raise cur.error("ENABLE needs at least one capability")
    cur.end()
    return AtomsArgs(tuple(names))


def _id(cur: Cursor) -> IdArgs:
    cur.sp()
    if cur.peek() != ord("("):
        if cur.atom().upper() != "NIL":
            raise cur.error("expected a parameter list or NIL")
        cur.end()
        return IdArgs(None)
    cur.char("(")
    fields: list[tuple[str, str | None]] = []
    if not cur.maybe(")"):
        while True:
            name = cur.string("a field name")
            cur.sp()
            value = cur.nstring("a field value")
            fields.append((name[:64], None if value is None else value[:1024]))
            if len(fields) > 30:
                raise cur.error("too many ID fields")
            if not cur.maybe(" "):
                break
        cur.char(")")
    cur.end()
    return IdArgs(tuple(fields))


GRAMMAR: dict[str, Callable[[Cursor], Args]] = {
    "CAPABILITY": _no_args,
    "NOOP": _no_args,
    "LOGOUT": _no_args,
    "STARTTLS": _no_args,
    "AUTHENTICATE": _authenticate,
    "LOGIN": _login,
    "SELECT": _select,
    "EXAMINE": _select,
    "CREATE": _mailbox,
    "DELETE": _mailbox,
    "RENAME": _rename,
    "SUBSCRIBE": _mailbox,
    "UNSUBSCRIBE": _mailbox,
    "LIST": _list,
    "LSUB": _list,
    "STATUS": _status,
    "APPEND": _append,
    "CHECK": _no_args,
    "CLOSE": _no_args,
    "UNSELECT": _no_args,
    "EXPUNGE": _no_args,
    "SEARCH": _search,
    "FETCH": _fetch,
    "STORE": _store,
    "COPY": _copy,
    "MOVE": _copy,
    "IDLE": _no_args,
    "NAMESPACE": _no_args,
    "ID": _id,
    "ENABLE": _enable,
    "GETQUOTA": _mailbox,
    "GETQUOTAROOT": _mailbox,
}
UID_GRAMMAR: dict[str, Callable[[Cursor], Args]] = {
    "FETCH": _fetch,
    "STORE": _store,
    "COPY": _copy,
    "MOVE": _copy,
    "SEARCH": _search,
    "EXPUNGE": _sequence,
}


def parse_command(data: bytes) -> Command:
    """Parse one complete command (without its final CRLF); raises ParseError."""
    cur = Cursor(data)
    if not data.strip():
        raise cur.error("empty command")
    cur.tag = peek_tag(data)
    if cur.tag is None:
        raise cur.error("missing or invalid tag")
    cur.pos = len(cur.tag) + 1
    name = cur.take(ATOM_CHARS, "a command name").upper()
    uid = name == "UID"
    grammar = GRAMMAR
    if uid:
        cur.sp()
        name = cur.take(ATOM_CHARS, "a UID command").upper()
        grammar = UID_GRAMMAR
    parse_args = grammar.get(name)
    if parse_args is None:
        shown = f"UID {name}" if uid else name
        raise UnknownCommand(f"unknown command {shown[:40]}", tag=cur.tag)
    try:
        args = parse_args(cur)
    except RecursionError:
        raise cur.error("command nested too deeply") from None
    return Command(tag=cur.tag, name=name, args=args, uid=uid)
