"""Mail from outside: which messages get sender authentication, and the bytes we trust.

A message counts as from outside when no user authenticated for it and its client is
not in ``spam.trusted_networks`` (loopback by default: local programs and our own
DSNs). For those, the validate stage records SPF, DKIM and DMARC in an
``Authentication-Results:`` field of our own, and every later stage sees the message
without any such field that a sender forged in our name (RFC 8601 section 5).
"""

from __future__ import annotations

import ipaddress
from functools import cache

from mailrs.config import Settings
from mailrs.db.models import Message
from mailrs.inbound.authresults import without_own_results


@cache
def _networks(
    networks: tuple[str, ...],
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(n, strict=False) for n in networks)


def from_outside(settings: Settings, message: Message) -> bool:
    """True for unauthenticated mail from a client outside the trusted networks."""
    if not settings.spam.check_sender_auth or message.auth_user:
        return False
    try:
        client = ipaddress.ip_address(message.client_addr)
    except ValueError:
        return True  # an address we cannot read is not a trusted one
    return not any(client in net for net in _networks(settings.spam.trusted_networks))


def authserv_id(settings: Settings, message: Message) -> str:
    """The name our Authentication-Results fields carry (the built-in scorer trusts it)."""
    return settings.smtp.hostname or message.received_by


def trusted_body(settings: Settings, message: Message, body: bytes) -> bytes:
    """The spooled bytes as later stages should see them (forged results removed)."""
    if not from_outside(settings, message):
        return body
    return without_own_results(body, authserv_id(settings, message))
