"""The MTA-STS policies we have fetched, kept in the database for their ``max_age``.

RFC 8461 5.1: a cached policy that has not expired is used as long as the ``_mta-sts``
TXT record shows the same ``id`` (or cannot be read, or has gone); a new ``id`` makes
us fetch again, and a fetch that fails leaves the cached policy in force. Every worker
shares the cache through the database.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import dns.resolver
from sqlalchemy.orm import Session

from mailrs.config import Settings
from mailrs.db.models import MtaStsPolicy, utcnow
from mailrs.outbound.mta_sts import Policy, PolicyError, fetch_policy_text, parse_policy, policy_id


@dataclass(frozen=True)
class Lookup:
    """The policy that applies to a domain now (None: none), and what went wrong getting it."""

    policy: Policy | None
    failure: str = ""  # a TLS-RPT result type, e.g. sts-policy-fetch-error
    detail: str = ""


def _from_row(row: MtaStsPolicy | None) -> Policy | None:
    if row is None:
        return None
    mx = tuple(m for m in row.mx.split("\n") if m)
    return Policy(row.domain, row.policy_id, row.mode, mx, row.max_age, row.text)


def current_policy(
    session: Session,
    resolver: dns.resolver.Resolver,
    settings: Settings,
    domain: str,
    now: dt.datetime | None = None,
) -> Lookup:
    """The policy of ``domain``: cached, or fetched (and stored in ``session``, uncommitted)."""
    now = now or utcnow()
    domain = domain.lower().rstrip(".")
    row = session.get(MtaStsPolicy, domain)
    cached = _from_row(row) if row is not None and row.expires_at > now else None
    try:
        record = policy_id(resolver, domain)
    except PolicyError as exc:
        return Lookup(cached, "" if cached else exc.kind, str(exc))
    if record is None or (cached is not None and cached.id == record):
        return Lookup(cached)
    relay = settings.relay
    try:
        text = fetch_policy_text(
            resolver, domain, relay.mta_sts_https_port, relay.tls_ca_file, relay.dns_timeout_secs
        )
        policy = parse_policy(domain, record, text)
    except PolicyError as exc:
        return Lookup(cached, exc.kind, str(exc))
    if row is None:
        row = MtaStsPolicy(domain=domain)
        session.add(row)
    row.policy_id, row.mode, row.mx = policy.id, policy.mode, "\n".join(policy.mx)
    row.max_age, row.text, row.fetched_at = policy.max_age, policy.text[:65536], now
    row.expires_at = now + dt.timedelta(seconds=policy.max_age)
    return Lookup(policy)
