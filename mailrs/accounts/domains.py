"""Domains and their DKIM selectors: add, list, remove, and key rotation with two selectors.

Rotation keeps mail verifiable at every moment:

1. ``start_rotation``: a new selector's keys are made and stored as *next*; its DNS
   records are published beside the current ones. Signing does not change yet.
2. ``activate_rotation`` (once the new records are visible in DNS): the new selector
   signs; the previous one becomes *old*, still published so mail in flight verifies.
3. ``retire_old`` (days later): the old keys are deleted and their records can go.

Every function blocks (database, disk); the caller commits nothing itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mailrs.accounts.dns_records import Record, domain_records, host_records
from mailrs.config import Settings
from mailrs.db.models import Domain, User
from mailrs.errors import DomainError
from mailrs.outbound.dkim_keys import (
    SigningKey,
    check_domain_name,
    generate_keys,
    new_selector,
    remove_domain_keys,
    remove_keys,
    selectors_on_disk,
    signing_keys,
)


@dataclass(frozen=True)
class DomainInfo:
    """What ``mailrs domain list`` shows of a domain."""

    name: str
    users: int
    dkim_selector: str | None
    dkim_next_selector: str | None
    dkim_old_selector: str | None


def find_domain(session: Session, name: str) -> Domain | None:
    """The domain row, or None."""
    return session.scalar(select(Domain).where(Domain.name == check_domain_name(name)))


def get_domain(session: Session, name: str) -> Domain:
    """The domain row; DomainError when it is not set up."""
    domain = find_domain(session, name)
    if domain is None:
        raise DomainError(f"no domain {name}; run 'mailrs domain add {name}' first")
    return domain


def _taken(settings: Settings, domain: Domain) -> set[str]:
    names = {domain.dkim_selector, domain.dkim_next_selector, domain.dkim_old_selector}
    return {n for n in names if n} | selectors_on_disk(settings, domain.name)


def add_domain(session: Session, settings: Settings, name: str) -> Domain:
    """Create the domain (if new) and its first DKIM selector (if it has none); commits."""
    domain_name = check_domain_name(name)
    domain = find_domain(session, domain_name)
    if domain is None:
        domain = Domain(name=domain_name)
        session.add(domain)
        session.flush()
    if not domain.dkim_selector:
        selector = new_selector(_taken(settings, domain))
        generate_keys(settings, domain_name, selector)
        domain.dkim_selector = selector
    session.commit()
    return domain


def list_domains(session: Session) -> list[DomainInfo]:
    """Every domain with its user count and selectors, sorted by name."""
    counts = dict(
        session.execute(select(User.domain_id, func.count(User.id)).group_by(User.domain_id)).all()
    )
    return [
        DomainInfo(
            d.name, counts.get(d.id, 0), d.dkim_selector, d.dkim_next_selector, d.dkim_old_selector
        )
        for d in session.scalars(select(Domain).order_by(Domain.name))
    ]


def remove_domain(session: Session, settings: Settings, name: str) -> None:
    """Delete a domain with no users left (its aliases go with it) and its DKIM keys."""
    domain = get_domain(session, name)
    users = session.scalar(select(func.count(User.id)).where(User.domain_id == domain.id))
    if users:
        raise DomainError(f"domain {domain.name} still has {users} user(s); delete them first")
    session.delete(domain)
    session.commit()
    remove_domain_keys(settings, domain.name)


def published_selectors(domain: Domain) -> list[tuple[str, str]]:
    """(selector, purpose) of every selector whose records must be in DNS now."""
    found = [
        (domain.dkim_selector, "DKIM, signing"),
        (domain.dkim_next_selector, "DKIM, next key (rotation: publish before activating)"),
        (domain.dkim_old_selector, "DKIM, previous key (keep until retired)"),
    ]
    return [(selector, purpose) for selector, purpose in found if selector]


def records_for(settings: Settings, domain: Domain) -> list[Record]:
    """Every DNS record the domain needs now."""
    return domain_records(settings, domain.name, published_selectors(domain))


def records_to_check(settings: Settings, domain: Domain) -> list[Record]:
    """What ``domain check`` looks for: the domain's records and the hosts' addresses."""
    return records_for(settings, domain) + host_records(settings)


def start_rotation(session: Session, settings: Settings, name: str) -> str:
    """Make the next selector's keys (published, not yet signing); returns its name."""
    domain = get_domain(session, name)
    if domain.dkim_next_selector:
        raise DomainError(
            f"a rotation to {domain.dkim_next_selector} is under way; activate it first"
        )
    if domain.dkim_old_selector:
        raise DomainError(
            f"selector {domain.dkim_old_selector} is not retired yet; retire it first"
        )
    selector = new_selector(_taken(settings, domain))
    generate_keys(settings, domain.name, selector)
    domain.dkim_next_selector = selector
    session.commit()
    return selector


def activate_rotation(session: Session, name: str) -> str:
    """Sign with the next selector from now on; the current one becomes old. Returns the new."""
    domain = get_domain(session, name)
    if not domain.dkim_next_selector:
        raise DomainError(f"no rotation under way for {domain.name}")
    domain.dkim_old_selector = domain.dkim_selector
    domain.dkim_selector = domain.dkim_next_selector
    domain.dkim_next_selector = None
    session.commit()
    return domain.dkim_selector


def retire_old(session: Session, settings: Settings, name: str) -> str:
    """Delete the old selector's keys once no mail in flight needs them; returns its name."""
    domain = get_domain(session, name)
    old = domain.dkim_old_selector
    if not old:
        raise DomainError(f"no old selector to retire for {domain.name}")
    domain.dkim_old_selector = None
    session.commit()
    remove_keys(settings, domain.name, old)
    return old


def domain_signing_keys(session: Session, settings: Settings, name: str) -> list[SigningKey]:
    """The keys to sign mail from ``name`` with; empty for a domain without a selector."""
    try:
        domain = find_domain(session, name)
    except ValueError:
        return []
    if domain is None or not domain.dkim_selector:
        return []
    return signing_keys(settings, domain.name, domain.dkim_selector)
