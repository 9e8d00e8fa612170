"""The Authentication-Results field (RFC 8601): writing its values, dropping forged ones.

``authcheck.AuthResults`` writes our field with ``quote`` and ``comment``;
``without_own_results`` removes, before our own is added, every field a sender wrote in
our name.
"""

from __future__ import annotations

import re

_FIELD_START = re.compile(rb"authentication-results[ \t]*:", re.IGNORECASE)


def without_own_results(data: bytes, authserv_id: str) -> bytes:
    """``data`` less every Authentication-Results field claiming our authserv-id (RFC 8601 s. 5).

    Otherwise a sender could forge ``<our host>; dmarc=pass``; fields of other
    authserv-ids are kept, and nothing but those header lines changes.
    """
    end = data.find(b"\r\n\r\n")
    cut = end + 2 if end >= 0 else -1
    if cut < 0:
        end = data.find(b"\n\n")
        cut = end + 1 if end >= 0 else len(data)
    head, body = data[:cut], data[cut:]
    ours = authserv_id.lower().encode("utf-8", "replace")
    kept: list[bytes] = []
    dropping = False
    for line in head.splitlines(keepends=True):
        if line[:1] in (b" ", b"\t"):  # a continuation of the field before
            if not dropping:
                kept.append(line)
            continue
        dropping = bool(_FIELD_START.match(line)) and _result_id(line) == ours
        if not dropping:
            kept.append(line)
    return b"".join(kept) + body


def _result_id(line: bytes) -> bytes:
    """The authserv-id at the start of an Authentication-Results field line, lower-cased."""
    value = re.sub(rb"\([^)]*\)", b" ", line.split(b":", 1)[1])  # without comments
    return value.split(b";", 1)[0].strip().strip(b'"').lower()


_TOKEN = re.compile(r"[A-Za-z0-9!#$%&'*+\-.^_`{|}~]+(@[A-Za-z0-9\-.]+)?")


def quote(text: str) -> str:
    """A value as RFC 8601 writes it: a token (or local-part@domain) or a quoted string."""
    text = _printable(text)
    if _TOKEN.fullmatch(text):
        return text
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def comment(text: str) -> str:
    """`` (text)`` as an RFC 5322 comment, or "" for no text."""
    text = _printable(text)[:200]
    if not text:
        return ""
    escaped = re.sub(r"([()\\])", r"\\\1", text)
    return f" ({escaped})"


def _printable(text: str) -> str:
    """No control characters: nothing from the sender can break the header."""
    return "".join(c for c in text if c.isprintable()).strip()
