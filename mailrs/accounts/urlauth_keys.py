"""Mailbox access keys of URLAUTH (RFC 4467 section 3): one random secret per user and
mailbox, in the central database, created on first use and replaced by RESETKEY.

A URL signed with a key stops verifying as soon as the key is replaced or removed;
removing every key of a user (RESETKEY without a mailbox, account removal) revokes
all the URLs that user ever authorized.
"""

from __future__ import annotations

import secrets

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from mailrs.db.access_keys import UrlauthKey
from mailrs.db.models import User

KEY_BYTES = 32


def owner_uid(session: Session, address: str) -> str | None:
    """The uid of the enabled account ``address`` (None: no such account, or disabled)."""
    row = session.execute(
        select(User.uid, User.disabled).where(User.address == address.lower())
    ).first()
    if row is None or row.disabled:
        return None
    return str(row.uid)


def mailbox_key(session: Session, owner: str, mailbox: str, create: bool) -> bytes | None:
    """The access key of ``owner``'s ``mailbox``; a new one is made when ``create``."""
    row = session.get(UrlauthKey, (owner, mailbox))
    if row is not None:
        return bytes(row.secret)
    if not create:
        return None
    secret = secrets.token_bytes(KEY_BYTES)
    session.add(UrlauthKey(owner_uid=owner, mailbox=mailbox, secret=secret))
    session.commit()
    return secret


def reset_key(session: Session, owner: str, mailbox: str) -> None:
    """Replace the key of one mailbox with a new random one (RESETKEY mailbox)."""
    row = session.get(UrlauthKey, (owner, mailbox))
    if row is None:
        session.add(
            UrlauthKey(owner_uid=owner, mailbox=mailbox, secret=secrets.token_bytes(KEY_BYTES))
        )
    else:
        row.secret = secrets.token_bytes(KEY_BYTES)
    session.commit()


def delete_keys(session: Session, owner: str, commit: bool = True) -> None:
    """Remove every key of an account (RESETKEY without arguments; account removal)."""
    session.execute(delete(UrlauthKey).where(UrlauthKey.owner_uid == owner))
    if commit:
        session.commit()
