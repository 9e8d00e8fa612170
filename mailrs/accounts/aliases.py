"""Alias rows: add, list and delete (``@domain`` as the source is the domain's catch-all)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mailrs.accounts.users import ensure_domain
from mailrs.addresses import parse_address
from mailrs.db.models import Alias
from mailrs.errors import InvalidAddress


def _normal_source(source: str) -> tuple[str, str]:
    source = source.strip().lower()
    if source.startswith("@"):
        domain = parse_address(f"postmaster{source}").domain
        return f"@{domain}", domain
    address = parse_address(source)
    if "/" in address.local:
        raise InvalidAddress(f"invalid alias {source!r}")
    return f"{address.local}@{address.domain}", address.domain


def add_alias(session: Session, source: str, destination: str) -> Alias:
    """Make mail for ``source`` (an address or ``@domain``) also go to ``destination``."""
    normal, domain = _normal_source(source)
    target = str(parse_address(destination.strip()))
    existing = session.scalar(
        select(Alias).where(Alias.source == normal, func.lower(Alias.destination) == target.lower())
    )
    if existing is not None:
        return existing
    alias = Alias(source=normal, destination=target, domain_id=ensure_domain(session, domain).id)
    session.add(alias)
    session.flush()
    return alias


def list_aliases(session: Session) -> list[Alias]:
    """Every alias row, by source then destination."""
    return list(session.scalars(select(Alias).order_by(Alias.source, Alias.destination)))


def delete_alias(session: Session, source: str, destination: str | None = None) -> int:
    """Remove one destination of ``source`` (or all of them); returns how many rows went."""
    normal, _ = _normal_source(source)
    query = select(Alias).where(Alias.source == normal)
    if destination is not None:
        query = query.where(func.lower(Alias.destination) == destination.strip().lower())
    rows = list(session.scalars(query))
    for row in rows:
        session.delete(row)
    session.flush()
    return len(rows)
