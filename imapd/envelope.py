"""ENVELOPE (RFC 3501 section 7.4.2): the parsed address and identity headers of a message."""

from __future__ import annotations

import functools
from email import _header_value_parser as rfc5322
from email.header import Header
from email.message import Message
from typing import Any

from imapd.responses import Value

MISSING_DOMAIN = "MISSING_DOMAIN"  # a host of NIL would mean "group start" (Dovecot's word)


def header_text(text: str) -> str | bytes:
    """A header value as sent: 8-bit bytes kept (UTF-8 as text, anything else as bytes)."""
    if text.isascii():
        return text
    data = text.encode("utf-8", "surrogateescape")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data


def _raw(fields: Message, name: str) -> str | None:
    """The first ``name`` field exactly as in the message, unfolded (8-bit kept)."""
    for key, value in fields.raw_items():
        if key.lower() == name:
            unfolded = str(value).replace("\r", "").replace("\n", "").strip()
            return unfolded or None
    return None


def _text(fields: Message, name: str) -> str | bytes | None:
    raw = _raw(fields, name)
    return None if raw is None else header_text(raw)


def _name(name: str | None, raw_8bit: bool = False) -> str | bytes | None:
    if not name:
        return None
    if name.isascii():
        return name
    if raw_8bit:
        return header_text(name)  # raw 8-bit in the header: pass it on unchanged
    return Header(name, "utf-8").encode()  # decoded from encoded words: encode again


def _mailbox(mailbox: object, raw_8bit: bool) -> list[Value] | None:
    local = getattr(mailbox, "local_part", None)
    if not local:
        return None
    name = getattr(mailbox, "display_name", None)
    comments = getattr(mailbox, "comments", [])
    if not name and comments:
        name = " ".join(comments)  # "user@domain (Real Name)"
    route = getattr(mailbox, "route", None)
    adl = ",".join("@" + hop for hop in route) if route else None
    domain = getattr(mailbox, "domain", None) or MISSING_DOMAIN
    return [_name(name, raw_8bit), adl, header_text(local), header_text(domain)]


def addresses(fields: Message, name: str) -> list[Value] | None:
    """The address list of one header (groups as RFC 3501 group markers), or NIL."""
    raw = _raw(fields, name)
    if raw is None:
        return None
    parsed = _address_list(raw)
    return None if parsed is None else list(parsed)


@functools.lru_cache(maxsize=4096)
def _address_list(raw: str) -> tuple[tuple[Value, ...], ...] | None:
    """The ENVELOPE addresses of one header value (None: NIL).

    Remembered for the last 4,096 values: the ``email`` package's address parser was a
    fifth of imapd's time under imaptest's load (a FETCH of ENVELOPE parses From, To
    and Cc of every message), and a mailbox's From and To values repeat.
    """
    raw_8bit = not raw.isascii()
    out: list[tuple[Value, ...]] = []
    try:  # the parser is lenient but not total: odd input may leave bare strings
        parsed, _ = rfc5322.get_address_list(raw)
        for address in parsed.addresses:
            token: Any = address[0]
            kind = getattr(token, "token_type", None)
            if kind == "group":
                out.append((None, None, _name(token.display_name, raw_8bit) or "", None))
                out.extend(
                    tuple(item)
                    for m in token.all_mailboxes
                    if (item := _mailbox(m, raw_8bit)) is not None
                )
                out.append((None, None, None, None))
            elif kind is not None and (item := _mailbox(token, raw_8bit)) is not None:
                out.append(tuple(item))
    except Exception:
        return None  # a half-read list could leave a group open
    return tuple(out) or None


def envelope(fields: Message) -> list[Value]:
    """The ENVELOPE value of a message header."""
    sender_from = addresses(fields, "from")
    return [
        _text(fields, "date"),
        _text(fields, "subject"),
        sender_from,
        addresses(fields, "sender") or sender_from,
        addresses(fields, "reply-to") or sender_from,
        addresses(fields, "to"),
        addresses(fields, "cc"),
        addresses(fields, "bcc"),
        _text(fields, "in-reply-to"),
        _text(fields, "message-id"),
    ]
