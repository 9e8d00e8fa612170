"""The IMAP tokenizer: a cursor over one command's bytes reading atoms, numbers and strings.

Pure: no I/O and no state beyond the position. Knows the lexical grammar of RFC 3501
(atoms, quoted strings, literals, numbers) and nothing about what a command means;
``imapd.arguments`` builds the argument grammar on it and ``imapd.parser`` the commands.
The two framing helpers (``literal_at_end``, ``peek_tag``) are the bits of this lexical
grammar that ``imapd.framing`` needs while it reads a command off the socket.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from imapd.errors import ParseError
from imapd.sequences import MAX_NUMBER

ATOM_CHARS = frozenset(range(0x21, 0x7F)) - set(b'(){%*"\\]')
ASTRING_CHARS = ATOM_CHARS | {ord("]")}
LIST_CHARS = ATOM_CHARS | set(b"%*]")
TAG_CHARS = ASTRING_CHARS - {ord("+")}
DIGITS = frozenset(b"0123456789")
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
