"""A user's contacts: addresses saved by hand or imported, and those collected from mail.

Rows are named by the owner's never-reused ``users.uid``. A collected address counts the
messages exchanged with it (``times``) so completion offers the usual correspondents
first; a saved one keeps the name the user gave it, whatever later mail says.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from mailrs.addresses import parse_address
from mailrs.db.models import Contact, ContactHarvest, utcnow
from mailrs.errors import InvalidAddress

MAX_CONTACTS = 10_000  # per user: an import or the collecting stops there
MAX_NAME = 200
MAX_PHONE = 64
MAX_NOTE = 2000


@dataclass(frozen=True)
class ContactInfo:
    """A contact as the pages and the completion show it (plain data)."""

    id: int
    email: str
    name: str
    phone: str
    note: str
    saved: bool
    times: int

    @property
    def label(self) -> str:
        """``Name <email>``, or the address alone."""
        return f"{self.name} <{self.email}>" if self.name else self.email


def _info(row: Contact) -> ContactInfo:
    return ContactInfo(row.id, row.email, row.name, row.phone, row.note, row.saved, row.times)


def clean_email(text: str) -> str:
    """A contact's address, lower-cased; ValueError when it is not an address."""
    text = (text or "").strip()
    try:
        parse_address(text)
    except InvalidAddress:
        raise ValueError(f"not an email address: {text!r}") from None
    return text.lower()


def _one_line(text: str, limit: int) -> str:
    return " ".join((text or "").split())[:limit]


def list_contacts(session: Session, owner: str, query: str = "") -> list[ContactInfo]:
    """The owner's contacts by name then address, those matching ``query`` when given."""
    stmt = select(Contact).where(Contact.owner_uid == owner)
    if query:
        like = f"%{query.lower()}%"
        stmt = stmt.where(or_(func.lower(Contact.name).like(like), Contact.email.like(like)))
    rows = session.scalars(stmt.order_by(func.lower(Contact.name) == "", func.lower(Contact.name)))
    return [_info(r) for r in rows]


def complete(session: Session, owner: str, prefix: str, limit: int = 8) -> list[ContactInfo]:
    """Contacts whose address or a word of whose name starts with ``prefix``, best first."""
    prefix = prefix.strip().lower()
    if not prefix:
        return []
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    name = func.lower(Contact.name)
    stmt = (
        select(Contact)
        .where(Contact.owner_uid == owner)
        .where(
            or_(
                Contact.email.like(f"{escaped}%", escape="\\"),
                name.like(f"{escaped}%", escape="\\"),
                name.like(f"% {escaped}%", escape="\\"),
            )
        )
        .order_by(Contact.saved.desc(), Contact.times.desc(), Contact.last_used.desc())
        .limit(limit)
    )
    return [_info(r) for r in session.scalars(stmt)]


def get_contact(session: Session, owner: str, contact_id: int) -> ContactInfo | None:
    """One of the owner's contacts, or None."""
    row = session.get(Contact, contact_id)
    return _info(row) if row is not None and row.owner_uid == owner else None


def _count(session: Session, owner: str) -> int:
    stmt = select(func.count()).select_from(Contact).where(Contact.owner_uid == owner)
    return int(session.scalar(stmt) or 0)


def save_contact(
    session: Session,
    owner: str,
    email: str,
    name: str = "",
    phone: str = "",
    note: str = "",
    contact_id: int | None = None,
) -> ContactInfo:
    """Add a contact, or update one (by id, or by address); ValueError for bad input."""
    address = clean_email(email)
    if contact_id is not None:
        row = session.get(Contact, contact_id)
        if row is None or row.owner_uid != owner:
            raise LookupError("no such contact")
        other = _by_email(session, owner, address)
        if other is not None and other.id != row.id:
            raise ValueError(f"{address} is already a contact")
    else:
        row = _by_email(session, owner, address)
        if row is None:
            if _count(session, owner) >= MAX_CONTACTS:
                raise ValueError(f"at most {MAX_CONTACTS} contacts")
            row = Contact(owner_uid=owner, times=0)
            session.add(row)
    row.email = address
    row.name = _one_line(name, MAX_NAME)
    row.phone = _one_line(phone, MAX_PHONE)
    row.note = (note or "")[:MAX_NOTE]
    row.saved = True
    row.last_used = row.last_used or utcnow()
    session.commit()
    return _info(row)


def _by_email(session: Session, owner: str, email: str) -> Contact | None:
    stmt = select(Contact).where(Contact.owner_uid == owner, Contact.email == email)
    return session.scalars(stmt).first()


def delete_contact(session: Session, owner: str, contact_id: int) -> bool:
    """Remove one of the owner's contacts; False when there was none."""
    result = session.execute(
        delete(Contact).where(Contact.owner_uid == owner, Contact.id == contact_id)
    )
    session.commit()
    return bool(getattr(result, "rowcount", 0))


def delete_all_contacts(session: Session, owner: str, commit: bool = True) -> None:
    """Forget every contact of an account and how far its mail was read (account removal)."""
    session.execute(delete(Contact).where(Contact.owner_uid == owner))
    session.execute(delete(ContactHarvest).where(ContactHarvest.owner_uid == owner))
    if commit:
        session.commit()


def note_exchanged(
    session: Session, owner: str, people: Iterable[tuple[str, str, dt.datetime]]
) -> int:
    """Count mail exchanged with ``(name, address, when)``; new addresses become contacts.

    Returns how many contacts were added. Invalid addresses are skipped.
    """
    added = 0
    seen: dict[str, Contact] = {}
    total = _count(session, owner)
    for name, email, when in people:
        try:
            address = clean_email(email)
        except ValueError:
            continue
        row = seen.get(address) or _by_email(session, owner, address)
        if row is None:
            if total >= MAX_CONTACTS:
                continue
            row = Contact(
                owner_uid=owner, email=address, name="", phone="", note="", saved=False, times=0
            )
            row.last_used = when
            session.add(row)
            total += 1
            added += 1
        seen[address] = row
        row.times = (row.times or 0) + 1
        if not row.saved and name.strip():
            row.name = _one_line(name, MAX_NAME)
        if when > row.last_used:
            row.last_used = when
    session.commit()
    return added


def harvest_mark(session: Session, owner: str, folder: str) -> tuple[int, int]:
    """``(uidvalidity, last_uid)`` the collecting reached in a folder; (0, 0) at first."""
    row = _mark_row(session, owner, folder)
    return (row.uidvalidity, row.last_uid) if row is not None else (0, 0)


def set_harvest_mark(
    session: Session, owner: str, folder: str, uidvalidity: int, last_uid: int
) -> None:
    """Remember how far the collecting has read a folder."""
    row = _mark_row(session, owner, folder)
    if row is None:
        row = ContactHarvest(owner_uid=owner, folder=folder)
        session.add(row)
    row.uidvalidity = uidvalidity
    row.last_uid = last_uid
    session.commit()


def _mark_row(session: Session, owner: str, folder: str) -> ContactHarvest | None:
    stmt = select(ContactHarvest).where(
        ContactHarvest.owner_uid == owner, ContactHarvest.folder == folder
    )
    return session.scalars(stmt).first()
