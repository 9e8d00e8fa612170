"""Sender authentication of mail from outside: our ``Authentication-Results:`` field.

Which messages count as from outside, and the bytes later stages trust, are
``mailrs.inbound.trust``.
"""

from __future__ import annotations

from functools import cache

import dns.resolver

from mailrs.config import RelaySettings, Settings
from mailrs.db.models import Message
from mailrs.inbound.authcheck import authenticate_message
from mailrs.inbound.trust import authserv_id, from_outside, trusted_body
from mailrs.outbound.mx import make_resolver


@cache
def _resolver(relay: RelaySettings) -> dns.resolver.Resolver:
    return make_resolver(relay)


def authentication_results(settings: Settings, message: Message, body: bytes) -> str:
    """Our ``Authentication-Results:`` field for a message from outside, else ''."""
    if not from_outside(settings, message):
        return ""
    results = authenticate_message(
        trusted_body(settings, message, body),
        client_ip=message.client_addr,
        helo=message.helo,
        mail_from=message.mail_from,
        resolver=_resolver(settings.relay),
        authserv_id=authserv_id(settings, message),
    )
    return results.header()
