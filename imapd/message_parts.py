"""The parts of a raw message that FETCH can return: header, text and partial ranges."""

from __future__ import annotations


def header_length(data: bytes) -> int:
    """The length of the header block, including the empty line that ends it."""
    if data.startswith(b"\r\n"):
        return 2
    if data.startswith(b"\n"):
        return 1
    ends = []
    crlf = data.find(b"\n\r\n")
    if crlf >= 0:
        ends.append(crlf + 3)
    lf = data.find(b"\n\n")
    if lf >= 0:
        ends.append(lf + 2)
    return min(ends) if ends else len(data)


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
