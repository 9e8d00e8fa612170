"""A user's webmail identity: the display name put in From of the mail they send (web,
API and assistant alike) and the signature compose adds below a new message."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from mailrs.db.models import User, UserPreferences, utcnow

MAX_DISPLAY_NAME = 100
MAX_SIGNATURE = 2000
SIGNATURE_SEPARATOR = "-- "  # RFC 3676 section 4.3: dash dash space, alone on its line


@dataclass(frozen=True)
class Preferences:
    """Plain data of a user's preferences (empty strings when never set)."""

    display_name: str = ""
    signature: str = ""


def get_preferences(session: Session, owner: str) -> Preferences:
    """The preferences of the account with uid ``owner``."""
    row = session.get(UserPreferences, owner)
    if row is None:
        return Preferences()
    return Preferences(row.display_name, row.signature)


def set_preferences(session: Session, owner: str, display_name: str, signature: str) -> Preferences:
    """Store the display name (one line) and the signature; ValueError for what is refused."""
    name = " ".join(display_name.split())
    if len(name) > MAX_DISPLAY_NAME:
        raise ValueError(f"the display name may have at most {MAX_DISPLAY_NAME} characters")
    if any(ord(c) < 32 or c in '<>"' for c in name):
        raise ValueError("the display name may not contain < > or quotes")
    lines = signature.replace("\r\n", "\n").split("\n")
    text = "\n".join(line.rstrip() for line in lines).strip("\n")
    if len(text) > MAX_SIGNATURE:
        raise ValueError(f"the signature may have at most {MAX_SIGNATURE} characters")
    row = session.get(UserPreferences, owner)
    if row is None:
        row = UserPreferences(owner_uid=owner)
        session.add(row)
    row.display_name = name
    row.signature = text
    row.updated_at = utcnow()
    session.commit()
    return Preferences(name, text)


def display_name_for(session: Session, address: str) -> str:
    """The display name of the account ``address`` ("" when none is set or no such account)."""
    uid = session.scalar(select(User.uid).where(User.address == address.lower()))
    return get_preferences(session, uid).display_name if uid else ""


def delete_preferences(session: Session, owner: str) -> None:
    """Forget an account's preferences (account removal; the caller commits)."""
    session.execute(delete(UserPreferences).where(UserPreferences.owner_uid == owner))


def with_signature(text: str, signature: str) -> str:
    """``text`` with the signature block (``-- `` line) put first, above any quoted text."""
    if not signature.strip():
        return text
    block = f"\n\n{SIGNATURE_SEPARATOR}\n{signature}\n"
    return block + "\n" + text.lstrip("\n") if text.strip() else block
