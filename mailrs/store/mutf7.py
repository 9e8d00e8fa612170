"""Modified UTF-7 (RFC 3501 section 5.1.3), the wire form of IMAP4rev1 mailbox names."""

from __future__ import annotations

import base64


def _b64(chars: str) -> str:
    encoded = base64.b64encode(chars.encode("utf-16-be")).decode("ascii")
    return encoded.rstrip("=").replace("/", ",")


def encode(name: str) -> str:
    """A mailbox name in modified UTF-7."""
    out: list[str] = []
    pending: list[str] = []
    for ch in name:
        if 0x20 <= ord(ch) <= 0x7E:
            if pending:
                out.append("&" + _b64("".join(pending)) + "-")
                pending.clear()
            out.append("&-" if ch == "&" else ch)
        else:
            pending.append(ch)
    if pending:
        out.append("&" + _b64("".join(pending)) + "-")
    return "".join(out)


def decode(text: str) -> str:
    """The mailbox name that ``text`` encodes; ValueError if it is not modified UTF-7."""
    out: list[str] = []
    pos = 0
    while pos < len(text):
        ch = text[pos]
        if not 0x20 <= ord(ch) <= 0x7E:
            raise ValueError("mailbox name contains characters that need encoding")
        if ch != "&":
            out.append(ch)
            pos += 1
            continue
        end = text.find("-", pos + 1)
        if end < 0:
            raise ValueError("unterminated modified UTF-7 sequence")
        chunk = text[pos + 1 : end]
        pos = end + 1
        if not chunk:
            out.append("&")
            continue
        try:
            raw = base64.b64decode(chunk.replace(",", "/") + "=" * (-len(chunk) % 4), validate=True)
            decoded = raw.decode("utf-16-be")
        except ValueError:
            raise ValueError("invalid modified UTF-7 sequence") from None
        if not decoded or any(0x20 <= ord(c) <= 0x7E for c in decoded):
            raise ValueError("modified UTF-7 sequence encodes printable ASCII")
        out.append(decoded)
    return "".join(out)
