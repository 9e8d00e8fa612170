"""BINARY (RFC 3516): message parts with their Content-Transfer-Encoding undone.

``decoded_part`` gives the bytes of ``BINARY[part]`` (the whole message for ``[]``,
whose encoding is not touched); ``literal8`` writes them as ``~{n}`` when they hold a
NUL byte, which a plain literal may not carry.
"""

from __future__ import annotations

import base64
import binascii
import re

from imapd.errors import CommandFailed
from imapd.message_parts import crlf_lines
from imapd.protocol import Code
from imapd.responses import literal
from mailrs.store.mime import Part, find_part, header_lines, parse

_IDENTITY = {"", "7bit", "8bit", "binary"}


def decode_body(body: bytes, encoding: str) -> bytes:
    """A body with its transfer encoding undone; raises CommandFailed [UNKNOWN-CTE]."""
    encoding = encoding.strip().lower()
    if encoding in _IDENTITY:
        return body
    if encoding == "base64":
        try:
            return base64.b64decode(b"".join(body.split()) + b"==", validate=False)
        except (binascii.Error, ValueError):
            raise CommandFailed("Invalid base64 content", Code.UNKNOWN_CTE) from None
    if encoding == "quoted-printable":
        return decode_quoted_printable(body)
    raise CommandFailed(f"Unknown Content-Transfer-Encoding {encoding[:40]}", Code.UNKNOWN_CTE)


_LINES = re.compile(rb"(\r?\n)")
_ESCAPE = re.compile(rb"=([0-9A-Fa-f]{2})")


def decode_quoted_printable(body: bytes) -> bytes:
    """Quoted-printable undone as RFC 2045 6.7 says: trailing blanks of a line dropped,
    ``=`` at a line's end (blanks after it too) a soft break, ``=XX`` a byte; a stray
    ``=`` stays as it is. Hard line breaks keep their own line end."""
    out = []
    pieces = _LINES.split(body)
    for index in range(0, len(pieces), 2):
        line = pieces[index]
        ending = pieces[index + 1] if index + 1 < len(pieces) else b""
        line = line.rstrip(b" \t")
        if line.endswith(b"="):
            line, ending = line[:-1], b""
        out.append(_ESCAPE.sub(lambda m: bytes((int(m.group(1), 16),)), line))
        out.append(ending)
    return b"".join(out)


def decoded_part(root: Part | None, raw: bytes, numbers: tuple[int, ...]) -> bytes:
    """The bytes of BINARY[numbers]: "" for a part that does not exist."""
    if not numbers:
        return raw
    if root is None:
        root = parse(raw)
    found = find_part(root, numbers)
    if found is None:
        return b""
    if found.is_multipart or found.message is not None:
        return found.body
    return decode_body(found.body, str(found.fields.get("content-transfer-encoding", "")))


def literal8(data: bytes) -> bytes:
    """A literal, as ``~{n}`` (literal8) when the data holds NUL."""
    if b"\0" in data:
        return b"~{%d}\r\n" % len(data) + data
    return literal(data)


def _leaves(part: Part) -> list[Part]:
    if part.message is not None:
        return _leaves(part.message)
    if part.children:
        return [leaf for child in part.children for leaf in _leaves(child)]
    return [part]


def _base64_part(header: bytes, body: bytes) -> bytes:
    fields = [
        field if field.endswith(b"\n") else field + b"\r\n"
        for field in header_lines(header)
        if not field.lower().startswith(b"content-transfer-encoding:")
    ]
    encoded = base64.encodebytes(body).rstrip(b"\n").replace(b"\n", b"\r\n")
    return crlf_lines(b"".join(fields)) + b"Content-Transfer-Encoding: base64\r\n\r\n" + encoded


def stored_form(data: bytes) -> bytes:
    """An appended message as stored: line ends made CRLF, and a part whose body holds
    NUL (only a literal8 can bring one) base64-encoded, its header saying so, as Dovecot
    does: no IMAP literal may carry NUL (RFC 3501 CHAR8), BINARY[] still gives the bytes."""
    if b"\0" not in data:
        return crlf_lines(data)
    out, cursor = [], 0
    for leaf in _leaves(parse(data)):
        if b"\0" not in leaf.body:
            continue
        at = data.find(leaf.header + leaf.body, cursor)
        if at < 0:
            continue
        out.append(crlf_lines(data[cursor:at]))
        out.append(_base64_part(leaf.header, leaf.body))
        cursor = at + len(leaf.header) + len(leaf.body)
    out.append(crlf_lines(data[cursor:]))
    return b"".join(out)
