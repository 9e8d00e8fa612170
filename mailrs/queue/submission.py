"""Rules for mail submitted by an authenticated user, shared by SMTP submission and the web.

``complete_headers`` adds the Message-ID and Date that a submitting client left out;
``sender_allowed`` decides whether a logged-in user may use a given envelope sender
(``smtp.sender_policy``: ``own`` = their address, plus-tags of it and aliases that reach
them; ``domain`` = any address in their domain or their aliases' domains; ``any``).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re
import secrets

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mailrs.db.models import Alias

SENDER_POLICIES = ("own", "domain", "any")
_HEADER_NAME = re.compile(rb"^([!-9;-~]+)[ \t]*:", re.MULTILINE)


def header_block(raw: bytes) -> bytes:
    """The header section of a message (without the blank line), CRLF or LF ended."""
    for sep in (b"\r\n\r\n", b"\n\n"):
        end = raw.find(sep)
        if end >= 0:
            return raw[:end]
    return raw


def header_names(raw: bytes) -> set[str]:
    """The lower-cased names of the header fields present in ``raw``."""
    return {m.group(1).decode("ascii").lower() for m in _HEADER_NAME.finditer(header_block(raw))}


def new_message_id(hostname: str) -> str:
    """A fresh, globally unique Message-ID for ``hostname``."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d%H%M%S")
    return f"<{stamp}.{secrets.token_hex(10)}@{hostname or 'localhost'}>"


def complete_headers(raw: bytes, hostname: str, now: dt.datetime | None = None) -> bytes:
    """``raw`` with Message-ID and Date prepended when it has none (RFC 6409 §8)."""
    present = header_names(raw)
    newline = b"\r\n" if b"\r\n" in raw[:4096] or not raw else b"\n"
    added: list[bytes] = []
    if "message-id" not in present:
        added.append(b"Message-ID: " + new_message_id(hostname).encode("ascii"))
    if "date" not in present:
        when = now or dt.datetime.now(dt.UTC).astimezone()
        added.append(b"Date: " + email.utils.format_datetime(when).encode("ascii"))
    if not added:
        return raw
    return newline.join(added) + newline + raw


def owned_addresses(session: Session, user_address: str) -> set[str]:
    """The user's own address and every alias address that delivers to it."""
    user_address = user_address.lower()
    sources = session.scalars(
        select(Alias.source).where(func.lower(Alias.destination) == user_address)
    ).all()
    return {user_address, *(s.lower() for s in sources)}


def _without_tag(address: str) -> str:
    local, _, domain = address.rpartition("@")
    return f"{local.split('+', 1)[0]}@{domain}" if local else address


def sender_allowed(session: Session, user_address: str, mail_from: str, policy: str) -> bool:
    """True if ``user_address`` may send with envelope sender ``mail_from``."""
    if policy not in SENDER_POLICIES:
        raise ValueError(f"unknown sender policy {policy!r}")
    if policy == "any" or mail_from in ("", "<>"):
        return True
    sender = mail_from.strip().lower()
    owned = owned_addresses(session, user_address)
    if sender in owned or _without_tag(sender) in owned:
        return True
    if policy == "domain":
        domains = {a.rpartition("@")[2] for a in owned}
        return sender.rpartition("@")[2] in domains
    return False
