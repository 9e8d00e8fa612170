"""DMARC enforcement at the end of DATA (``[spam] dmarc_enforce``): refuse ``p=reject``.

smtpd calls ``dmarc_refusal`` in a thread before it spools a message; the pipeline still
records the full results later (and files ``p=quarantine`` failures to Junk, as before).
"""

from __future__ import annotations

import ipaddress
from functools import cache

import dns.resolver

from mailrs.config import RelaySettings, Settings
from mailrs.db.engine import Database
from mailrs.inbound.authcheck import authenticate_message
from mailrs.inbound.authresults import without_own_results
from mailrs.inbound.dmarc_results import REJECT, record_result, sampled_in, trusted_forwarder
from mailrs.outbound.mx import make_resolver

REJECT_BUDGET_SECS = 20.0  # DNS time allowed while the client waits for our answer


CACHED_ANSWERS = 4096


@cache
def _resolver(relay: RelaySettings) -> dns.resolver.Resolver:
    """This process's resolver for the inbound checks, with a cache that keeps each answer
    (NXDOMAIN and no-data too) for its TTL: the messages of a batch mostly share sender
    domains, and each would otherwise wait for the same SPF and DMARC lookups."""
    resolver = make_resolver(relay)
    resolver.cache = dns.resolver.LRUCache(CACHED_ANSWERS)
    return resolver


def _from_outside(settings: Settings, client_addr: str, auth_user: str | None) -> bool:
    """True for unauthenticated mail from outside the trusted networks (as the pipeline)."""
    if not settings.spam.check_sender_auth or auth_user:
        return False
    try:
        client = ipaddress.ip_address(client_addr)
    except ValueError:
        return True
    networks = settings.spam.trusted_networks
    return not any(client in ipaddress.ip_network(n, strict=False) for n in networks)


def dmarc_refusal(
    settings: Settings,
    db: Database,
    client_addr: str,
    helo: str,
    mail_from: str,
    auth_user: str | None,
    data: bytes,
) -> str | None:
    """The 550 reply for mail whose From domain's DMARC policy is reject and that fails it.

    A refusal is recorded in ``dmarc_results`` for the aggregate report (the pipeline
    records the messages it accepts).
    """
    if not settings.spam.dmarc_enforce:
        return None
    if not _from_outside(settings, client_addr, auth_user):
        return None
    own_id = settings.smtp.hostname
    results = authenticate_message(
        without_own_results(data, own_id),
        client_ip=client_addr,
        helo=helo,
        mail_from=mail_from,
        resolver=_resolver(settings.relay),
        authserv_id=own_id,
        budget_secs=REJECT_BUDGET_SECS,
    )
    dmarc = results.dmarc
    if dmarc.result != "fail" or dmarc.policy != REJECT:
        return None
    if trusted_forwarder(results, settings.spam.arc_trusted_sealers):
        return None  # a forwarder we trust sealed it: the pipeline records the override
    if not sampled_in(dmarc.percent):
        return None  # pct sampling (RFC 7489 6.6.4): this one is let through
    with db.session() as session:
        record_result(
            session,
            results,
            queue_id="",
            source_ip=client_addr,
            envelope_from=mail_from,
            outcome=(REJECT, ""),
        )
        session.commit()
    return f"550 5.7.1 Message rejected by the DMARC policy of {dmarc.from_domain}"
