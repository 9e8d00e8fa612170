"""BINARY (RFC 3516): message parts with their Content-Transfer-Encoding undone.

``decoded_part`` gives the bytes of ``BINARY[part]`` (the whole message for ``[]``,
whose encoding is not touched); ``literal8`` writes them as ``~{n}`` when they hold a
NUL byte, which a plain literal may not carry.
"""

from __future__ import annotations

import base64
import binascii
import quopri

from imapd.errors import CommandFailed
from imapd.protocol import Code
from imapd.responses import literal
from mailrs.store.mime import Part, find_part, parse

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
        return quopri.decodestring(body)
    raise CommandFailed(f"Unknown Content-Transfer-Encoding {encoding[:40]}", Code.UNKNOWN_CTE)


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
