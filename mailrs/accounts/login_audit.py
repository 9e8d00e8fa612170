"""The login audit: the latest web and API login attempts, from ``login_events``."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailrs.db.models import LoginEvent

MAX_AUDIT = 500


def recent_logins(session: Session, limit: int = 200, address: str = "") -> list[LoginEvent]:
    """The newest attempts first (at most MAX_AUDIT), of one address when given."""
    query = select(LoginEvent).order_by(LoginEvent.id.desc())
    if address:
        query = query.where(LoginEvent.address == address.strip().lower())
    return list(session.scalars(query.limit(max(1, min(limit, MAX_AUDIT)))))
