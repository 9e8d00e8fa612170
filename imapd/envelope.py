"""ENVELOPE (RFC 3501 section 7.4.2): the parsed address and identity headers of a message."""

from __future__ import annotations

from email.header import Header
from email.headerregistry import HeaderRegistry
from email.message import Message

from imapd.responses import Value

_REGISTRY = HeaderRegistry()


def _raw(fields: Message, name: str) -> str | None:
    value = fields.get(name)
    if value is None:
        return None
    text = str(value) if not isinstance(value, str) else value
    return " ".join(text.replace("\r", " ").replace("\n", " ").split()) or None


def _encoded_name(name: str) -> str | None:
    if not name:
        return None
    if name.isascii():
        return name
    return Header(name, "utf-8").encode()


def _address(display: str, local: str, domain: str) -> list[Value]:
    return [_encoded_name(display), None, local or None, domain or None]


def addresses(fields: Message, name: str) -> list[Value] | None:
    """The address list of one header (groups as RFC 3501 group markers), or NIL."""
    raw = _raw(fields, name)
    if raw is None:
        return None
    try:
        header = _REGISTRY(name, raw)
        groups = header.groups  # type: ignore[attr-defined]
    except Exception:
        return None
    out: list[Value] = []
    for group in groups:
        if group.display_name is not None:
            out.append([None, None, _encoded_name(group.display_name) or "", None])
        for address in group.addresses:
            out.append(_address(address.display_name, address.username, address.domain))
        if group.display_name is not None:
            out.append([None, None, None, None])
    return out or None


def envelope(fields: Message) -> list[Value]:
    """The ENVELOPE value of a message header."""
    sender_from = addresses(fields, "from")
    return [
        _raw(fields, "date"),
        _raw(fields, "subject"),
        sender_from,
        addresses(fields, "sender") or sender_from,
        addresses(fields, "reply-to") or sender_from,
        addresses(fields, "to"),
        addresses(fields, "cc"),
        addresses(fields, "bcc"),
        _raw(fields, "in-reply-to"),
        _raw(fields, "message-id"),
    ]
