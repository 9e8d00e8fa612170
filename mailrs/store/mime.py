"""A raw MIME tree of a message: every part's header block and body as exact byte ranges.

Shared by IMAP (FETCH, BODYSTRUCTURE) and the full-text content parser (``content``).

FETCH needs byte-exact parts (BODY[1.2], sizes and line counts in BODYSTRUCTURE), which
the ``email`` package does not keep, so the split along boundaries is done here; header
values are decoded with ``email`` helpers. Nesting is bounded (``MAX_DEPTH``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email.message import Message
from email.parser import HeaderParser
from email.policy import compat32

MAX_DEPTH = 20
MAX_PARTS = 2000
_PARSER = HeaderParser(policy=compat32)
_FOLD = re.compile(rb"\r?\n(?=[ \t])")


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


def header_lines(header: bytes) -> list[bytes]:
    """The fields of a header block, each with its folded continuation lines."""
    fields: list[bytes] = []
    for line in header.splitlines(keepends=True):
        if line in (b"\r\n", b"\n"):
            break
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] += line
        else:
            fields.append(line)
    return fields


def split_header(data: bytes) -> tuple[bytes, bytes]:
    """(header block, body) of a message or part; all header when no empty line ends it."""
    split = header_length(data)
    if split == len(data) and not data.endswith(b"\n"):
        return data, b""
    return data[:split], data[split:]


@dataclass
class Part:
    """One MIME entity: its header block, its body, and what it contains."""

    header: bytes
    body: bytes
    fields: Message
    maintype: str
    subtype: str
    children: list[Part] = field(default_factory=list)
    message: Part | None = None  # the enclosed message of a message/rfc822 part

    @property
    def is_multipart(self) -> bool:
        """True for a multipart entity."""
        return self.maintype == "multipart"

    def params(self) -> list[tuple[str, str]]:
        """The Content-Type parameters (name, value), RFC 2231 values decoded."""
        return _params(self.fields, "content-type")


def _params(fields: Message, header: str) -> list[tuple[str, str]]:
    raw = fields.get_params(header=header, failobj=[])
    out = []
    for name, value in raw[1:]:
        if isinstance(value, tuple):
            from email.utils import collapse_rfc2231_value

            value = collapse_rfc2231_value(value)
        out.append((name, str(value)))
    return out


def header_fields(header: bytes) -> Message:
    """The header block parsed for field lookups, folded lines unfolded (RFC 5322 2.2.3).

    8-bit text is read as UTF-8 (Latin-1 when it is not UTF-8), so raw non-ASCII names
    and parameters reach BODYSTRUCTURE and ENVELOPE as text, never as U+FFFD.
    """
    unfolded = _FOLD.sub(b"", header)
    try:
        text = unfolded.decode("utf-8")
    except UnicodeDecodeError:
        text = unfolded.decode("latin-1")
    return _PARSER.parsestr(text)


def parse(
    data: bytes, default: str = "text/plain", depth: int = 0, budget: list[int] | None = None
) -> Part:
    """The MIME tree of ``data`` (a message or a body part)."""
    budget = budget if budget is not None else [MAX_PARTS]
    budget[0] -= 1
    header, body = split_header(data)
    fields = header_fields(header)
    ctype = fields.get("content-type")
    maintype, subtype = default.split("/")
    if ctype is not None:
        value = str(ctype).split(";", 1)[0].strip().lower()
        if value.count("/") == 1 and all(value.split("/")):
            maintype, subtype = value.split("/")
    part = Part(header, body, fields, maintype, subtype)
    if depth >= MAX_DEPTH or budget[0] <= 0:
        return part
    if maintype == "multipart":
        boundary = fields.get_param("boundary", header="content-type")
        if isinstance(boundary, tuple):
            boundary = boundary[2]
        if boundary:
            child_default = "message/rfc822" if subtype == "digest" else "text/plain"
            part.children = [
                parse(chunk, child_default, depth + 1, budget)
                for chunk in split_multipart(body, str(boundary).encode("utf-8", "replace"))
            ]
            if not part.children:  # only a close delimiter: one empty part, as Dovecot
                part.children = [Part(b"", b"", header_fields(b""), "text", "plain")]
        if not part.children:
            part.maintype, part.subtype = "text", "plain"
    elif (maintype, subtype) in (("message", "rfc822"), ("message", "global")):
        part.message = parse(body, "text/plain", depth + 1, budget)
    return part


def split_multipart(body: bytes, boundary: bytes) -> list[bytes]:
    """The body parts between the boundary lines of a multipart body."""
    delimiter = re.compile(rb"(?:\A|\r?\n)--" + re.escape(boundary) + rb"(--)?[ \t]*(?:\r?\n|\Z)")
    parts = []
    start: int | None = None
    for match in delimiter.finditer(body):
        if start is not None:
            parts.append(body[start : match.start()])
        if match.group(1):
            return parts
        start = match.end()
    if start is not None:
        parts.append(body[start:])
    return parts


def find_part(root: Part, numbers: tuple[int, ...]) -> Part | None:
    """The part that section numbers name (``1.2``), or None when there is none."""
    current = root
    for index, number in enumerate(numbers):
        if index and current.message is not None:  # inside a message/rfc822 part
            current = current.message
        if current.children:
            if number > len(current.children):
                return None
            current = current.children[number - 1]
        elif number != 1:
            return None
    return current


def count_lines(data: bytes) -> int:
    """Lines in a body: its line ends, as Dovecot, Cyrus and UW-IMAP count them.

    A last line without CRLF (the CRLF before a boundary belongs to the boundary) is not
    counted, so ``body-fld-lines`` agrees with what those servers and imaptest report.
    """
    return data.count(b"\n")
