"""The parts of a raw message that FETCH can return: header, text and partial ranges."""

from __future__ import annotations

import re

from mailrs.store.mime import header_length, header_lines


def section_bytes(data: bytes, specifier: str) -> bytes:
    """The bytes of BODY[specifier]: "" is the whole message, HEADER or TEXT a part of it."""
    if specifier == "":
        return data
    split = header_length(data)
    if specifier == "HEADER":
        return data[:split]
    if specifier == "TEXT":
        return data[split:]
    raise ValueError(f"unsupported section {specifier!r}")


def partial(data: bytes, start: int, length: int) -> bytes:
    """The ``<start.length>`` slice of a section (empty when start is past the end)."""
    return data[start : start + length]


def select_fields(header: bytes, names: tuple[str, ...], exclude: bool) -> bytes:
    """HEADER.FIELDS (or .NOT): the chosen fields followed by the blank line."""
    wanted = {name.lower() for name in names}
    chosen = []
    for field_bytes in header_lines(header):
        name = field_bytes.split(b":", 1)[0].strip().decode("ascii", "replace").lower()
        if (name in wanted) != exclude:
            chosen.append(field_bytes if field_bytes.endswith(b"\n") else field_bytes + b"\r\n")
    return b"".join(chosen) + b"\r\n"


_LINE_END = re.compile(rb"\r?\n")


def crlf_lines(data: bytes) -> bytes:
    """A message with every line ending as CRLF (RFC 5322 2.1; bare LF from APPEND)."""
    return _LINE_END.sub(b"\r\n", data) if b"\n" in data else data
