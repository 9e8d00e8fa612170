"""The command parser: complete command bytes (literals included) to command objects.

Pure: no I/O and no state. ``framing`` collects one command's bytes (the lines and
the literal data between them, without the final CRLF); ``parse_command`` checks them
against the RFC 3501 grammar of the commands this server knows and raises
``ParseError`` (tagged when the tag was readable) for anything else.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from imapd.errors import ParseError, UnknownCommand
from imapd.sequences import MAX_NUMBER, SequenceSet, SequenceSetError, parse_sequence_set

_CTL = set(range(0x20)) | {0x7F}
ATOM_CHARS = frozenset(range(0x21, 0x7F)) - set(b'(){%*"\\]')
ASTRING_CHARS = ATOM_CHARS | {ord("]")}
LIST_CHARS = ATOM_CHARS | set(b"%*]")
TAG_CHARS = ASTRING_CHARS - {ord("+")}
SEQUENCE_CHARS = frozenset(b"0123456789:*,")
MAX_LITERAL_DIGITS = 12

_LITERAL_AT_END = re.compile(rb"\{([0-9]+)(\+?)\}\r?\n\Z")
_LITERAL_START = re.compile(rb"\{([0-9]{1,12})\+?\}\r?\n")


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
class MailboxArgs:
    """A command whose one argument is a mailbox name (as sent: modified UTF-7)."""

    mailbox: str


@dataclass(frozen=True)
class ListArgs:
    """LIST reference pattern."""

    reference: str
    pattern: str


@dataclass(frozen=True)
class Section:
    """A BODY[...] section; ``specifier`` is "" (whole message), "HEADER" or "TEXT"."""

    specifier: str = ""


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
        name = f"{self.name}[{self.section.specifier}]"
        return name if self.partial is None else f"{name}<{self.partial[0]}>"


@dataclass(frozen=True)
class FetchArgs:
    """FETCH sequence-set items."""

    sequence: SequenceSet
    items: tuple[FetchItem, ...]


type Args = NoArgs | LoginArgs | MailboxArgs | ListArgs | FetchArgs


@dataclass(frozen=True)
class Command:
    """One parsed command."""

    tag: str
    name: str
    args: Args
    uid: bool = False

    @property
    def key(self) -> str:
        """The name the command table uses: ``FETCH`` or ``UID FETCH``."""
        return f"UID {self.name}" if self.uid else self.name


# -- the cursor ----------------------------------------------------------------------------


class _Cursor:
    """A position in the command bytes with the grammar's token readers."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0
        self.tag: str | None = None

    def error(self, message: str) -> ParseError:
        return ParseError(message, tag=self.tag)

    def peek(self) -> int | None:
        return self.data[self.pos] if self.pos < len(self.data) else None

    def at_end(self) -> bool:
        return self.pos >= len(self.data)

    def end(self) -> None:
        if not self.at_end():
            raise self.error("unexpected characters at the end of the command")

    def sp(self) -> None:
        if self.peek() != 0x20:
            raise self.error("expected a space")
        self.pos += 1

    def take(self, allowed: frozenset[int] | set[int], what: str) -> str:
        start = self.pos
        while self.pos < len(self.data) and self.data[self.pos] in allowed:
            self.pos += 1
        if self.pos == start:
            raise self.error(f"expected {what}")
        return self.data[start : self.pos].decode("ascii")

    def atom(self) -> str:
        return self.take(ATOM_CHARS, "an atom")

    def number(self) -> int:
        text = self.take(frozenset(b"0123456789"), "a number")
        if len(text) > 10 or int(text) > MAX_NUMBER:
            raise self.error("number too large")
        return int(text)

    def astring(self, what: str) -> str:
        if self.peek() in (ord('"'), ord("{")):
            return self.string(what)
        return self.take(ASTRING_CHARS, what)

    def list_mailbox(self) -> str:
        if self.peek() in (ord('"'), ord("{")):
            return self.string("a mailbox pattern")
        return self.take(LIST_CHARS, "a mailbox pattern")

    def string(self, what: str) -> str:
        raw = self.quoted() if self.peek() == ord('"') else self.literal()
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise self.error(f"{what} is not valid UTF-8") from None

    def quoted(self) -> bytes:
        self.pos += 1  # opening quote
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

    def literal(self) -> bytes:
        match = _LITERAL_START.match(self.data, self.pos)
        if match is None:
            raise self.error("malformed literal")
        size = int(match.group(1))
        start = match.end()
        if start + size > len(self.data):
            raise self.error("literal data is truncated")
        data = self.data[start : start + size]
        if b"\0" in data:
            raise self.error("literal contains NUL")
        self.pos = start + size
        return data


# -- grammar of each command ---------------------------------------------------------------


def _no_args(cur: _Cursor) -> NoArgs:
    cur.end()
    return NoArgs()


def _login(cur: _Cursor) -> LoginArgs:
    cur.sp()
    username = cur.astring("a user name")
    cur.sp()
    password = cur.astring("a password")
    cur.end()
    return LoginArgs(username, password)


def _mailbox(cur: _Cursor) -> MailboxArgs:
    cur.sp()
    mailbox = cur.astring("a mailbox name")
    cur.end()
    return MailboxArgs(mailbox)


def _list(cur: _Cursor) -> ListArgs:
    cur.sp()
    reference = cur.astring("a reference name")
    cur.sp()
    pattern = cur.list_mailbox()
    cur.end()
    return ListArgs(reference, pattern)


SIMPLE_FETCH_ITEMS = ("FLAGS", "UID", "RFC822.SIZE", "INTERNALDATE")
FETCH_MACROS: dict[str, tuple[str, ...]] = {"FAST": ("FLAGS", "INTERNALDATE", "RFC822.SIZE")}
SECTIONS = ("", "HEADER", "TEXT")
_ITEM_NAME_CHARS = ATOM_CHARS - {ord("[")}


def _fetch_item(cur: _Cursor) -> FetchItem:
    name = cur.take(_ITEM_NAME_CHARS, "a FETCH data item").upper()
    if name in SIMPLE_FETCH_ITEMS:
        return FetchItem(name)
    if name in ("BODY", "BODY.PEEK") and cur.peek() == ord("["):
        section = _section(cur)
        partial = _partial(cur) if cur.peek() == ord("<") else None
        return FetchItem("BODY", section=section, peek=name == "BODY.PEEK", partial=partial)
    raise cur.error(f"FETCH data item {name} is not supported")


def _section(cur: _Cursor) -> Section:
    close = cur.data.find(b"]", cur.pos)
    if close < 0:
        raise cur.error("unterminated section")
    specifier = cur.data[cur.pos + 1 : close].decode("ascii", "replace").upper()
    if specifier not in SECTIONS:
        raise cur.error(f"section [{specifier[:40]}] is not supported")
    cur.pos = close + 1
    return Section(specifier)


def _partial(cur: _Cursor) -> tuple[int, int]:
    cur.pos += 1  # "<"
    start = cur.number()
    if cur.peek() != ord("."):
        raise cur.error("expected '.' in partial range")
    cur.pos += 1
    length = cur.number()
    if length == 0 or cur.peek() != ord(">"):
        raise cur.error("malformed partial range")
    cur.pos += 1
    return (start, length)


def _fetch(cur: _Cursor) -> FetchArgs:
    cur.sp()
    try:
        sequence = parse_sequence_set(cur.take(SEQUENCE_CHARS, "a sequence set"))
    except SequenceSetError as exc:
        raise cur.error(str(exc)) from None
    cur.sp()
    items: list[FetchItem] = []
    if cur.peek() == ord("("):
        cur.pos += 1
        items.append(_fetch_item(cur))
        while cur.peek() == 0x20:
            cur.pos += 1
            items.append(_fetch_item(cur))
        if cur.peek() != ord(")"):
            raise cur.error("expected ')' after FETCH data items")
        cur.pos += 1
    else:
        start = cur.pos
        word = cur.take(_ITEM_NAME_CHARS, "a FETCH data item").upper()
        if word in FETCH_MACROS:
            items.extend(FetchItem(name) for name in FETCH_MACROS[word])
        else:
            cur.pos = start
            items.append(_fetch_item(cur))
    cur.end()
    return FetchArgs(sequence, tuple(items))


GRAMMAR: dict[str, Callable[[_Cursor], Args]] = {
    "CAPABILITY": _no_args,
    "NOOP": _no_args,
    "LOGOUT": _no_args,
    "LOGIN": _login,
    "SELECT": _mailbox,
    "EXAMINE": _mailbox,
    "LIST": _list,
    "FETCH": _fetch,
}
UID_GRAMMAR: dict[str, Callable[[_Cursor], Args]] = {"FETCH": _fetch}


def parse_command(data: bytes) -> Command:
    """Parse one complete command (without its final CRLF); raises ParseError."""
    cur = _Cursor(data)
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
    return Command(tag=cur.tag, name=name, args=parse_args(cur), uid=uid)
