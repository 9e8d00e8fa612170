"""Every admin operation once, for the admin pages and ``/api/admin`` alike.

Each function takes the request's database session and returns plain data (dicts and
lists a template or ``jsonify`` can use). Bad input raises ``AdminInputError`` (400),
an unknown account, alias or queue id ``AdminNotFound`` (404).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from typing import Any

from sqlalchemy.orm import Session

from mailrs.accounts.aliases import add_alias, delete_alias, list_aliases
from mailrs.accounts.login_audit import recent_logins
from mailrs.accounts.quota import format_size, parse_quota, set_quota
from mailrs.accounts.users import (
    add_user,
    delete_user,
    find_user,
    list_users,
    set_admin,
    set_disabled,
    set_password,
)
from mailrs.db.models import Message
from mailrs.errors import InvalidAddress, UserExists, UserNotFound
from mailrs.queue.admin import NotInQueue, delete_message, find_message, list_messages, republish
from mailrs.queue.figures import pipeline_figures
from mailrs.queue.spool import Spool
from mailrs.queue.states import DONE
from mailrs.store.usage import mailbox_usage
from web.resources import get_resources


class AdminInputError(ValueError):
    """The request's input is not acceptable (HTTP 400)."""


class AdminNotFound(LookupError):
    """No such account, alias or queued message (HTTP 404)."""


def _iso(when: dt.datetime | None) -> str | None:
    return when.isoformat() if when is not None else None


# -- users ---------------------------------------------------------------------------------


def users(session: Session) -> list[dict[str, Any]]:
    """Every account with its usage, quota, admin and disabled flags."""
    store = get_resources().store
    rows = []
    for user in list_users(session):
        used = mailbox_usage(store, user.address)
        rows.append(
            {
                "address": user.address,
                "usage_bytes": used,
                "quota_bytes": user.quota_bytes,
                "usage": format_size(used),
                "quota": format_size(user.quota_bytes),
                "disabled": user.disabled,
                "is_admin": user.is_admin,
                "created_at": _iso(user.created_at),
            }
        )
    return rows


def _user(session: Session, address: str) -> str:
    user = find_user(session, address)
    if user is None:
        raise AdminNotFound(f"no user {address}")
    return user.address


def create_user(
    session: Session, address: str, password: str, admin: bool = False, quota: str = ""
) -> str:
    """Create an account (and its Maildir); returns its normalized address."""
    try:
        limit = parse_quota(quota) if quota.strip() else None
        user = add_user(session, get_resources().store, address, password)
        if admin or limit is not None:
            user.is_admin, user.quota_bytes = admin, limit
            session.commit()
    except (InvalidAddress, UserExists, ValueError) as exc:
        session.rollback()
        raise AdminInputError(str(exc)) from None
    return user.address


def update_user(session: Session, address: str, changes: dict[str, Any]) -> str:
    """Apply ``disabled``, ``is_admin``, ``quota`` (``2G``/``none``) and ``password``."""
    known = {"disabled", "is_admin", "quota", "password"}
    if not changes or set(changes) - known:
        raise AdminInputError(f"give some of: {', '.join(sorted(known))}")
    target = _user(session, address)
    try:
        if "quota" in changes:
            set_quota(session, target, parse_quota(str(changes["quota"])))
        for flag, apply in (("disabled", set_disabled), ("is_admin", set_admin)):
            if flag in changes:
                if not isinstance(changes[flag], bool):
                    raise AdminInputError(f"{flag}: true or false")
                apply(session, target, changes[flag])
        if "password" in changes:
            set_password(session, target, str(changes["password"]))
    except (UserNotFound, ValueError) as exc:
        session.rollback()
        raise AdminInputError(str(exc)) from None
    return target


def remove_user(session: Session, address: str, purge: bool = False) -> str:
    """Delete an account (its mail too with ``purge``)."""
    target = _user(session, address)
    delete_user(session, get_resources().store, target, purge=purge)
    return target


# -- aliases -------------------------------------------------------------------------------


def aliases(session: Session) -> list[dict[str, str]]:
    """Every alias row."""
    return [{"source": a.source, "destination": a.destination} for a in list_aliases(session)]


def create_alias(session: Session, source: str, destination: str) -> dict[str, str]:
    """Add one alias destination."""
    try:
        alias = add_alias(session, source, destination)
        session.commit()
    except InvalidAddress as exc:
        session.rollback()
        raise AdminInputError(str(exc)) from None
    return {"source": alias.source, "destination": alias.destination}


def remove_alias(session: Session, source: str, destination: str | None) -> int:
    """Delete one destination of an alias (or all of them)."""
    try:
        count = delete_alias(session, source, destination or None)
    except InvalidAddress as exc:
        raise AdminInputError(str(exc)) from None
    if not count:
        raise AdminNotFound(f"no alias {source}")
    session.commit()
    return count


# -- the queue -----------------------------------------------------------------------------


def _summary(m: Message) -> dict[str, Any]:
    return {
        "queue_id": m.queue_id,
        "state": str(m.state),
        "mail_from": m.mail_from,
        "size": m.size,
        "received_at": _iso(m.received_at),
        "finished_at": _iso(m.finished_at),
        "next_attempt_at": _iso(m.next_attempt_at),
        "attempts": m.attempts,
        "done": sum(d.state in DONE for d in m.deliveries),
        "targets": len(m.deliveries),
    }


def queue(session: Session, show_all: bool = False, limit: int = 200) -> list[dict[str, Any]]:
    """Queued messages (finished ones too with ``show_all``)."""
    return [_summary(m) for m in list_messages(session, show_all, max(1, min(limit, 5000)))]


def queued_message(session: Session, queue_id: str) -> dict[str, Any]:
    """One message: envelope, deliveries, attempts and history."""
    try:
        m = find_message(session, queue_id)
    except NotInQueue as exc:
        raise AdminNotFound(str(exc)) from None
    spool = Spool(get_resources().settings.spool_path)
    return {
        **_summary(m),
        "client_addr": m.client_addr,
        "helo": m.helo,
        "spool": "present" if spool.exists(m.queue_id) else "gone",
        "spam": {"verdict": m.spam_verdict, "score": m.spam_score},
        "recipients": [{"address": r.address, "state": str(r.state)} for r in m.recipients],
        "deliveries": [
            {
                "kind": str(d.kind),
                "address": d.address,
                "state": str(d.state),
                "status": d.status,
                "attempts": d.attempts,
                "last_error": d.last_error,
            }
            for d in m.deliveries
        ],
        "attempt_log": [
            {"at": _iso(a.at), "host": a.host, "outcome": a.outcome, "detail": a.detail}
            for a in m.attempt_log
        ],
        "history": [{"at": _iso(e.at), "stage": e.stage, "detail": e.detail} for e in m.events],
    }


def retry(session: Session, queue_id: str) -> str:
    """Hand an unfinished message to the workers now; returns what happened."""
    try:
        m = find_message(session, queue_id)
    except NotInQueue as exc:
        raise AdminNotFound(str(exc)) from None
    if m.finished_at is not None:
        raise AdminInputError(f"{m.queue_id} is finished ({m.state})")
    qid = m.queue_id
    session.commit()  # end the read before the publisher's own session writes
    resources = get_resources()
    return republish(resources.settings, resources.database, [qid]).summary


def remove_message(session: Session, queue_id: str) -> str:
    """Delete a message from the queue for good (no delivery, no bounce)."""
    try:
        return delete_message(session, Spool(get_resources().settings.spool_path), queue_id)
    except NotInQueue as exc:
        raise AdminNotFound(str(exc)) from None


# -- figures and the audit -----------------------------------------------------------------


def pipeline(session: Session, hours: int = 24) -> dict[str, Any]:
    """Per-stage counts and latency, failures and states, and the Flower link if any."""
    figures = pipeline_figures(session, max(1, min(hours, 24 * 90)))
    return {**asdict(figures), "flower_url": get_resources().settings.celery.flower_url}


def login_audit(session: Session, limit: int = 200) -> list[dict[str, Any]]:
    """The latest web and API login attempts, newest first."""
    return [
        {
            "at": _iso(e.at),
            "address": e.address,
            "client_addr": e.client_addr,
            "via": e.via,
            "outcome": e.outcome,
        }
        for e in recent_logins(session, limit)
    ]
