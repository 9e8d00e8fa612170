"""Building response bytes: status lines, quoted strings, literals, lists and FETCH data.

Every value that reaches the wire goes through ``encode``: ``None`` is NIL, ``int`` a
number, ``Atom`` is written as is, ``str`` becomes an atom-safe quoted string or a
literal, ``bytes`` always a literal, and a list or tuple a parenthesised list.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Sequence

from imapd.protocol import Code, Status

CRLF = b"\r\n"
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_ATOM_SPECIALS = set('(){ %*"\\]')
# one or more printable ASCII characters that are not atom-specials
_ATOM = re.compile(
    "["
    + "".join(re.escape(chr(c)) for c in range(0x21, 0x7F) if chr(c) not in _ATOM_SPECIALS)
    + "]+"
)
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f]")


class Atom(str):
    """A string written verbatim (flags, keywords, numbers already formatted)."""


type Value = None | int | str | bytes | Sequence[Value]


def is_atom(text: str) -> bool:
    """True if ``text`` can be sent as an atom (and is not the word NIL)."""
    return _ATOM.fullmatch(text) is not None and text.upper() != "NIL"


def can_quote(text: str) -> bool:
    """True if ``text`` fits in a quoted string (7-bit, no CR, LF or NUL)."""
    return text.isascii() and "\r" not in text and "\n" not in text and "\0" not in text


def can_quote_utf8(text: str) -> bool:
    """True if ``text`` fits in a UTF-8 quoted string (RFC 6855, 9051): no CR, LF or NUL."""
    return "\r" not in text and "\n" not in text and "\0" not in text


def quoted(text: str, utf8: bool = False) -> bytes:
    """A quoted string (UTF-8 allowed with ``utf8``); ValueError if it cannot be quoted."""
    if not (can_quote(text) or (utf8 and can_quote_utf8(text))):
        raise ValueError("text cannot be sent as a quoted string")
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return b'"' + escaped.encode("utf-8") + b'"'


def literal(data: bytes) -> bytes:
    """A synchronising literal: ``{n}`` CRLF and the bytes."""
    return b"{%d}\r\n" % len(data) + data


def string(text: str, utf8: bool = False) -> bytes:
    """A string: quoted when possible, else a UTF-8 literal."""
    if can_quote(text) or (utf8 and can_quote_utf8(text)):
        return quoted(text, utf8)
    return literal(text.encode("utf-8"))


def astring(text: str, utf8: bool = False) -> bytes:
    """An astring: a bare atom when safe, else a string (UTF-8 quoted with ``utf8``)."""
    return text.encode("ascii") if is_atom(text) else string(text, utf8)


def encode(value: Value) -> bytes:
    """The wire form of one response value."""
    if value is None:
        return b"NIL"
    if isinstance(value, bool):
        raise TypeError("booleans have no IMAP form")
    if isinstance(value, int):
        return str(value).encode("ascii")
    if isinstance(value, Atom):
        return value.encode("ascii")
    if isinstance(value, str):
        return string(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return literal(bytes(value))
    return b"(" + b" ".join(encode(item) for item in value) + b")"


def plain_text(text: str) -> str:
    """Human-readable text made safe for one response line (no CR, LF or controls)."""
    cleaned = _UNPRINTABLE.sub(" ", text)
    return cleaned.encode("ascii", "replace").decode("ascii")


def status_line(
    tag: str | None, status: Status, text: str, code: Code | None = None, code_data: str = ""
) -> bytes:
    """A tagged (or, with no tag, untagged) status response line."""
    parts = [tag or "*", status.value]
    if code is not None:
        parts.append(f"[{code.value} {code_data}]" if code_data else f"[{code.value}]")
    parts.append(plain_text(text) or status.value)
    return " ".join(parts).encode("ascii") + CRLF


def untagged(*items: str | bytes) -> bytes:
    """An untagged data line made of ready-formatted parts."""
    parts = [b"*", *(item.encode("ascii") if isinstance(item, str) else item for item in items)]
    return b" ".join(parts) + CRLF


def continuation(text: str) -> bytes:
    """A continuation request (``+ text``)."""
    return b"+ " + plain_text(text).encode("ascii") + CRLF


def flag_list(flags: Iterable[str]) -> str:
    """A parenthesised list of flags."""
    return "(" + " ".join(flags) + ")"


def fetch_line(seq: int, items: Sequence[tuple[str, Value]]) -> bytes:
    """``* seq FETCH (name value ...)``; names are sent as they are."""
    body = b" ".join(name.encode("ascii") + b" " + encode(value) for name, value in items)
    return b"* %d FETCH (" % seq + body + b")" + CRLF


def list_line(attributes: Iterable[str], delimiter: str, name: str, utf8: bool = False) -> bytes:
    """``* LIST (attributes) "delimiter" name``."""
    return untagged("LIST", flag_list(attributes), quoted(delimiter), astring(name, utf8))


def internaldate(epoch: float, zone: int | None = None) -> str:
    """An INTERNALDATE value (``dd-Mon-yyyy hh:mm:ss +zzzz``), in ``zone`` minutes or UTC."""
    minutes = zone or 0
    t = time.gmtime(int(epoch) + minutes * 60)
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    return (
        f"{t.tm_mday:2d}-{MONTHS[t.tm_mon - 1]}-{t.tm_year:04d} "
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} {sign}{hours:02d}{rest:02d}"
    )
