"""Mailbox names on the wire: modified UTF-7 (IMAP4rev1), or UTF-8 once the client has
enabled UTF8=ACCEPT (RFC 6855) or IMAP4rev2 (RFC 9051), when ``&`` is just a character."""

from __future__ import annotations

from mailrs.errors import InvalidMailboxName
from mailrs.store import mutf7
from mailrs.store.names import normalize_mailbox_name


def canonical_name(wire: str, utf8: bool = False) -> str:
    """The canonical mailbox name for a name sent by a client."""
    if utf8:
        return normalize_mailbox_name(wire)
    try:
        decoded = mutf7.decode(wire)
    except ValueError as exc:
        raise InvalidMailboxName(str(exc)) from None
    return normalize_mailbox_name(decoded)


def wire_name(name: str, utf8: bool = False) -> str:
    """A mailbox name as it is sent to the client."""
    return name if utf8 else mutf7.encode(name)
