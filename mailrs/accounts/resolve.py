"""Where mail for an address goes: local accounts, aliases, catch-alls and plus-addressing.

One function, ``resolve_recipient``, answers for smtpd at RCPT time and for the pipeline's
route step, so both always agree. Rules, in order, for an address in a local domain
(domains and local parts compared without case):

1. an account with exactly that address;
2. an alias with exactly that source (one row per destination: one-to-many);
3. with a ``+tag`` stripped (``user+tag@`` → ``user@``): rules 1 and 2 again;
4. the domain's catch-all: an alias whose source is ``@domain``;
5. otherwise the address is unknown (the caller answers 550 5.1.1).

Addresses are read with ``mailrs.addresses.parse_address``; one that does not parse
resolves to nothing.

Alias destinations are resolved again (an alias may name other aliases or remote
addresses), with loops and depth bounded. Disabled accounts count as unknown.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Row, func, select
from sqlalchemy.orm import Session

from mailrs.accounts.users import is_local_domain
from mailrs.addresses import normalize_user_address, parse_address
from mailrs.db.models import Alias, User
from mailrs.errors import InvalidAddress

MAX_DEPTH = 8
MAX_TARGETS = 1000


@dataclass(frozen=True)
class Resolution:
    """The final targets of one address: local accounts and remote addresses."""

    local: tuple[str, ...] = ()
    remote: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        """True when the address leads nowhere."""
        return not self.local and not self.remote


def resolve_recipient(
    session: Session, address: str, local_domains: Iterable[str]
) -> Resolution | None:
    """The targets of ``address``, or None when it is in a local domain and unknown."""
    configured = tuple(d.lower() for d in local_domains)
    local_targets: list[str] = []
    remote_targets: list[str] = []
    seen: set[str] = set()

    def walk(addr: str, depth: int) -> bool:
        parsed = parse_address(addr.strip())
        local, domain = parsed.local, parsed.domain
        full = f"{local.lower()}@{domain}"
        if full in seen:
            return True  # a loop or a repeat: already counted
        seen.add(full)
        if len(seen) > MAX_TARGETS:
            return True
        if not is_local_domain(session, domain, configured):
            target = f"{local}@{domain}"
            if target not in remote_targets:
                remote_targets.append(target)
            return True
        for candidate in _candidates(local.lower(), domain):
            user = _account(session, candidate)
            if user is not None and not user.disabled:
                if user.address not in local_targets:
                    local_targets.append(user.address)
                return True
            if user is not None:
                return False
            destinations = _alias_destinations(session, candidate)
            if destinations:
                return _follow(destinations, depth)
        catch_all = _alias_destinations(session, f"@{domain}")
        if catch_all:
            return _follow(catch_all, depth)
        return False

    def _follow(destinations: list[str], depth: int) -> bool:
        if depth >= MAX_DEPTH:
            return False
        found = False
        for destination in destinations:
            try:
                found = walk(destination, depth + 1) or found
            except InvalidAddress:
                continue
        return found

    try:
        known = walk(address, 0)
    except InvalidAddress:
        return None
    if not known and not local_targets and not remote_targets:
        return None
    return Resolution(tuple(local_targets), tuple(remote_targets))


def _account(session: Session, address: str) -> Row[str, bool] | None:
    """(address, disabled) of the account, as ``find_user`` finds it, without an ORM object
    (this runs at every RCPT)."""
    try:
        normalized = normalize_user_address(address)
    except InvalidAddress:
        return None
    query = select(User.address, User.disabled).where(User.address == normalized)
    return session.execute(query).first()


def _candidates(local: str, domain: str) -> list[str]:
    names = [f"{local}@{domain}"]
    base = local.split("+", 1)[0]
    if base and base != local:
        names.append(f"{base}@{domain}")
    return names


def _alias_destinations(session: Session, source: str) -> list[str]:
    rows = session.scalars(
        select(Alias.destination).where(func.lower(Alias.source) == source.lower())
    ).all()
    return sorted(set(rows))
