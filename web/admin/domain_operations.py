"""The admin area's domain operations, for the pages and ``/api/admin/domains`` alike.

The same functions ``mailrs domain`` runs (``mailrs.accounts.domains``): list, add (DKIM
keys made), the DNS records to publish, a DNS check, the three DKIM rotation steps and
removal. Bad input raises ``AdminInputError`` (400), an unknown domain ``AdminNotFound``
(404), as ``web.admin.operations`` does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from mailrs.accounts import domains
from mailrs.accounts.dns_records import Record, dkim_records, host_records, zone_text
from mailrs.db.models import Domain
from mailrs.errors import DomainError
from web.admin.operations import AdminInputError, AdminNotFound
from web.resources import get_resources

if TYPE_CHECKING:
    from mailrs.accounts.dns_check import Finding
    from mailrs.config import Settings

OK = "ok"  # mailrs.accounts.dns_check.OK, without loading dnspython

STEPS = ("start", "activate", "retire")


def _domain(session: Session, name: str) -> Domain:
    try:
        domain = domains.find_domain(session, name)
    except ValueError as exc:
        raise AdminInputError(str(exc)) from None
    if domain is None:
        raise AdminNotFound(f"no domain {name}")
    return domain


def _record(record: Record, domain: str) -> dict[str, str]:
    return {
        "name": record.name,
        "fqdn": record.fqdn(domain),
        "type": record.type,
        "value": record.value,
        "purpose": record.purpose,
    }


def domain_list(session: Session) -> list[dict[str, Any]]:
    """Every domain with its user count and DKIM selectors."""
    return [
        {
            "name": info.name,
            "users": info.users,
            "dkim_selector": info.dkim_selector,
            "dkim_next_selector": info.dkim_next_selector,
            "dkim_old_selector": info.dkim_old_selector,
        }
        for info in domains.list_domains(session)
    ]


def domain_detail(session: Session, name: str) -> dict[str, Any]:
    """One domain: selectors, every record to publish (and as a zone), the hosts to address."""
    domain = _domain(session, name)
    settings = get_resources().settings
    records = domains.records_for(settings, domain)
    info = next(d for d in domain_list(session) if d["name"] == domain.name)
    return {
        **info,
        "records": [_record(r, domain.name) for r in records],
        "zone": zone_text(domain.name, records),
        "hosts": [_record(r, domain.name) for r in host_records(settings)],
    }


def create_domain(session: Session, name: str) -> str:
    """Set a domain up (DKIM keys made if it has none); returns its name."""
    try:
        domain = domains.add_domain(session, get_resources().settings, name)
    except (ValueError, DomainError, FileExistsError) as exc:
        session.rollback()
        raise AdminInputError(str(exc)) from None
    return domain.name


def _dns_findings(settings: Settings, domain: str, records: list[Record]) -> list[Finding]:
    """The verdict on each record, from the relay's resolver (dnspython loads on first use)."""
    from mailrs.accounts.dns_check import check_records
    from mailrs.outbound.mx import make_resolver

    return check_records(make_resolver(settings.relay), domain, records)


def check_dns(session: Session, name: str) -> dict[str, Any]:
    """Ask DNS for every record the domain needs and the hosts' addresses."""
    domain = _domain(session, name)
    settings = get_resources().settings
    records = domains.records_to_check(settings, domain)
    findings = _dns_findings(settings, domain.name, records)
    rows = [
        {**_record(f.record, domain.name), "state": f.state, "detail": f.detail} for f in findings
    ]
    bad = sum(f.state != OK for f in findings)
    return {"name": domain.name, "ok": bad == 0, "bad": bad, "findings": rows}


def _dns_shows_next_keys(session: Session, domain: Domain) -> None:
    """Refuse to activate a selector whose keys DNS does not show yet."""
    settings = get_resources().settings
    selector = domain.dkim_next_selector
    if not selector:
        return
    expected = dkim_records(settings, domain.name, selector, "DKIM, next key")
    findings = _dns_findings(settings, domain.name, expected)
    missing = [f.record.fqdn(domain.name) for f in findings if f.state != OK]
    if missing:
        raise AdminInputError(
            f"DNS does not show the new keys yet ({', '.join(missing)}); publish them and "
            "wait for the TTL, or force the activation"
        )


def rotate_dkim(session: Session, name: str, step: str, force: bool = False) -> str:
    """One rotation step (start, activate, retire); returns what was done, in a sentence."""
    if step not in STEPS:
        raise AdminInputError(f"step: one of {', '.join(STEPS)}")
    domain = _domain(session, name)
    settings = get_resources().settings
    try:
        if step == "start":
            selector = domains.start_rotation(session, settings, domain.name)
            return f"new selector {selector}: publish its two records, then activate it"
        if step == "activate":
            if not force:
                _dns_shows_next_keys(session, domain)
            selector = domains.activate_rotation(session, domain.name)
            return f"signing with selector {selector}; keep the old records for a few days"
        old = domains.retire_old(session, settings, domain.name)
    except DomainError as exc:
        session.rollback()
        raise AdminInputError(str(exc)) from None
    return f"retired selector {old}: remove {old}-rsa._domainkey and {old}-ed25519._domainkey"


def remove_domain(session: Session, name: str) -> str:
    """Remove a domain with no users left, its aliases and its DKIM keys."""
    domain = _domain(session, name)
    try:
        domains.remove_domain(session, get_resources().settings, domain.name)
    except DomainError as exc:
        session.rollback()
        raise AdminInputError(str(exc)) from None
    return domain.name
