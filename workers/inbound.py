"""Sender authentication of mail from outside: our ``Authentication-Results:`` field.

Which messages count as from outside, and the bytes later stages trust, are
``mailrs.inbound.trust``.
"""

from __future__ import annotations

from functools import cache

import dns.resolver
from sqlalchemy.orm import Session

from mailrs.config import RelaySettings, Settings
from mailrs.db.models import Message
from mailrs.inbound.authcheck import authenticate_message
from mailrs.inbound.dmarc_results import disposition, record_result, trusted_forwarder
from mailrs.inbound.trust import authserv_id, from_outside, trusted_body
from mailrs.outbound.mx import make_resolver

CACHED_ANSWERS = 4096


@cache
def _resolver(relay: RelaySettings) -> dns.resolver.Resolver:
    """This process's resolver for the inbound checks, with a cache that keeps each answer
    (NXDOMAIN and no-data too) for its TTL: the messages of a batch mostly share sender
    domains, and each would otherwise wait for the same SPF and DMARC lookups."""
    resolver = make_resolver(relay)
    resolver.cache = dns.resolver.LRUCache(CACHED_ANSWERS)
    return resolver


def authentication_results(
    settings: Settings, session: Session, message: Message, body: bytes
) -> str:
    """Our ``Authentication-Results:`` field for a message from outside, else ''.

    The DMARC outcome is decided here too: ``message.dmarc_disposition`` (route files
    ``quarantine`` to Junk) and a ``dmarc_results`` row for the aggregate report.
    """
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
    forwarded = trusted_forwarder(results, settings.spam.arc_trusted_sealers)
    outcome = disposition(results.dmarc, settings.spam.dmarc_enforce, forwarded)
    message.dmarc_disposition = outcome[0] if results.dmarc.result == "fail" else ""
    record_result(
        session,
        results,
        queue_id=message.queue_id,
        source_ip=message.client_addr,
        envelope_from=message.mail_from,
        outcome=outcome,
    )
    return results.header()
