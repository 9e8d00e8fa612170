"""How a relay run applies the destination's MTA-STS policy and logs TLS for TLS-RPT.

``sts_log`` looks the policy up (cached, ``mailrs.outbound.sts_cache``) and starts the
run's ``TlsLog``. ``plan_hosts`` decides, per MX host, whether it may be tried and how:
in ``enforce`` mode only hosts the policy names, each over STARTTLS with a certificate
valid for its name (``strict``: a failure ends that host); in ``testing`` mode the same
check is made and reported, then the message goes as without a policy. A message with
``TLS-Required: No`` (RFC 8689 5) is treated as under ``testing``; one sent with
REQUIRETLS as under ``enforce`` whatever the mode. ``send_logged`` runs one host's
attempt and records its TLS outcome.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from email.parser import BytesHeaderParser
from email.policy import default as default_policy

from mailrs.outbound.mx import MailHost, make_resolver
from mailrs.outbound.smtp_client import Connection, HostUnavailable, Outcome
from mailrs.outbound.sts_cache import current_policy
from mailrs.outbound.tls_results import TlsLog
from workers.context import WorkerContext

log = logging.getLogger(__name__)
Plan = list[tuple[MailHost, Connection, bool]]  # host, connection, strict


def sts_log(ctx: WorkerContext, domain: str) -> TlsLog | None:
    """The policy of ``domain`` and a log for its sessions (None through a smarthost)."""
    relay = ctx.settings.relay
    if relay.smarthost:
        return None
    tls_log = TlsLog(domain)
    if not relay.mta_sts:
        return tls_log
    with ctx.db.session() as session:
        lookup = current_policy(session, make_resolver(relay), ctx.settings, domain)
        session.commit()
    tls_log.policy = lookup.policy
    if lookup.failure:
        log.info("MTA-STS policy of %s: %s", domain, lookup.detail)
        tls_log.failure("", "", lookup.failure, lookup.detail)
    return tls_log


def tls_optional(data: bytes) -> bool:
    """Whether the message says ``TLS-Required: No`` (RFC 8689 5)."""
    if b"tls-required" not in data[:65536].lower():
        return False
    head = BytesHeaderParser(policy=default_policy).parsebytes(data[:65536])
    return any(str(value).strip().lower() == "no" for value in head.get_all("TLS-Required", []))


def plan_hosts(
    hosts: list[tuple[MailHost, Connection]],
    tls_log: TlsLog | None,
    require_tls: bool,
    optional: bool,
) -> Plan:
    """The hosts to try under the domain's policy, with how to connect to each."""
    policy = tls_log.policy if tls_log is not None else None
    if tls_log is None or policy is None or policy.mode == "none":
        return [(host, conn, require_tls) for host, conn in hosts]
    enforce = require_tls or (policy.mode == "enforce" and not optional)
    plan: Plan = []
    for host, conn in hosts:
        if policy.matches(host.name):
            plan.append((host, replace(conn, verify=True), enforce))
            continue
        detail = f"{host.name} is not an mx of the MTA-STS policy of {tls_log.domain}"
        tls_log.failure(host.name, host.address, "validation-failure", detail)
        if not enforce:
            plan.append((host, conn, False))
    return plan


def send_logged(
    host: MailHost,
    conn: Connection,
    strict: bool,
    attempt: Callable[[Connection], Outcome],
    tls_log: TlsLog | None,
) -> Outcome:
    """One host's attempt, its TLS outcome logged; under ``testing`` a verification that
    fails is reported and the message sent as without a policy."""
    try:
        outcome = attempt(conn)
    except HostUnavailable as exc:
        if not exc.tls_failure:
            raise
        if tls_log is not None:
            tls_log.failure(host.name, host.address, exc.tls_failure, str(exc))
        if strict or not conn.verify:
            raise
        return attempt(replace(conn, verify=False))
    if tls_log is not None:
        if outcome.tls:
            tls_log.success(host.name, host.address)
        else:
            tls_log.failure(host.name, host.address, "starttls-not-supported", "no STARTTLS")
    return outcome
