"""Revocable sessions: one ``auth_sessions`` row per web login or API token.

A web session cookie and a JWT each carry a session id; a request is accepted only while
that row exists, belongs to the account's never-reused ``uid`` and has not expired.
Logout deletes one row; a password change, disabling or deleting the account deletes
every row of that account, so every cookie and token of it stops working at once.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from mailrs.db.models import AuthSession, User, utcnow

TOUCH_EVERY = dt.timedelta(minutes=1)  # how stale last_seen_at may get (one write a minute)


@dataclass(frozen=True)
class SessionInfo:
    """An active session as the settings page lists it (plain data)."""

    id: str
    kind: str
    created_at: dt.datetime
    last_seen_at: dt.datetime
    expires_at: dt.datetime
    client_addr: str
    user_agent: str


def open_session(
    session: Session,
    user: User,
    kind: str,
    lifetime: dt.timedelta,
    client_addr: str = "",
    user_agent: str = "",
) -> str:
    """Record a new web session or API token for ``user`` and return its id (committed)."""
    now = utcnow()
    sid = secrets.token_urlsafe(32)
    session.add(
        AuthSession(
            id=sid,
            user_uid=user.uid,
            kind=kind,
            created_at=now,
            last_seen_at=now,
            expires_at=now + lifetime,
            client_addr=client_addr[:64],
            user_agent=user_agent[:200],
        )
    )
    session.execute(delete(AuthSession).where(AuthSession.expires_at < now))
    session.commit()
    return sid


def session_user(session: Session, sid: str, user_uid: str) -> User | None:
    """The enabled account whose live session ``sid`` is, or None (revoked, expired, gone)."""
    if not sid or not user_uid:
        return None
    row = session.get(AuthSession, sid)
    now = utcnow()
    if row is None or row.user_uid != user_uid or row.expires_at <= now:
        return None
    user = session.scalar(select(User).where(User.uid == user_uid))
    if user is None or user.disabled:
        return None
    if now - row.last_seen_at > TOUCH_EVERY:
        row.last_seen_at = now
        session.commit()
    return user


def is_live(session: Session, sid: str, user_uid: str) -> bool:
    """True while the session exists, is unexpired and its account is enabled."""
    return session_user(session, sid, user_uid) is not None


def end_session(session: Session, sid: str, user_uid: str | None = None) -> bool:
    """Revoke one session (of ``user_uid`` when given); True if it existed."""
    query = delete(AuthSession).where(AuthSession.id == sid)
    if user_uid is not None:
        query = query.where(AuthSession.user_uid == user_uid)
    result = session.execute(query)
    session.commit()
    return bool(getattr(result, "rowcount", 0))


def end_all_sessions(session: Session, user_uid: str, commit: bool = True) -> int:
    """Revoke every session and token of an account; the number revoked."""
    result = session.execute(delete(AuthSession).where(AuthSession.user_uid == user_uid))
    if commit:
        session.commit()
    return int(getattr(result, "rowcount", 0) or 0)


def list_sessions(session: Session, user_uid: str) -> list[SessionInfo]:
    """The account's unexpired sessions, most recently used first."""
    rows = session.scalars(
        select(AuthSession)
        .where(AuthSession.user_uid == user_uid, AuthSession.expires_at > utcnow())
        .order_by(AuthSession.last_seen_at.desc())
    )
    return [
        SessionInfo(
            r.id, r.kind, r.created_at, r.last_seen_at, r.expires_at, r.client_addr, r.user_agent
        )
        for r in rows
    ]
