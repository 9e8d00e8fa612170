"""vCard (RFC 6350, and 3.0 as most address books export) in and out of the contacts.

Parsing and writing are vobject's. A card with several EMAIL lines becomes one contact
per address (each with the card's name, first phone and note); a card without an address
is skipped and counted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from mailrs.accounts.contacts import ContactInfo

MAX_VCARD_BYTES = 2 * 1024 * 1024


@dataclass(frozen=True)
class CardContact:
    """One address read from a vCard file."""

    email: str
    name: str
    phone: str
    note: str


def _values(card: object, name: str) -> list[str]:
    items = getattr(card, "contents", {}).get(name, [])
    return [str(item.value).strip() for item in items if str(item.value).strip()]


def _name(card: object) -> str:
    names = _values(card, "fn")
    if names:
        return names[0]
    for item in getattr(card, "contents", {}).get("n", []):
        value = item.value
        return " ".join(p for p in (str(value.given), str(value.family)) if p).strip()
    return ""


def read_vcards(data: bytes) -> tuple[list[CardContact], int]:
    """The addresses of a vCard file, and how many cards had none; ValueError if unreadable."""
    if len(data) > MAX_VCARD_BYTES:
        raise ValueError("the vCard file is larger than 2 MB")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    import vobject  # loaded by the first import or export of contacts

    found: list[CardContact] = []
    skipped = 0
    try:
        for card in vobject.readComponents(text, ignoreUnreadable=True):
            if card.name.upper() != "VCARD":
                continue
            emails = _values(card, "email")
            if not emails:
                skipped += 1
                continue
            name, phones, notes = _name(card), _values(card, "tel"), _values(card, "note")
            phone, note = (phones or [""])[0], (notes or [""])[0]
            for address in emails:
                label = "" if name.lower() == address.lower() else name
                found.append(CardContact(address, label, phone, note))
    except Exception as exc:  # noqa: BLE001 - vobject raises many kinds on malformed input
        raise ValueError(f"not a vCard file ({exc.__class__.__name__})") from None
    if not found and not skipped:
        raise ValueError("no vCard found in the file")
    return found, skipped


def write_vcards(contacts: Iterable[ContactInfo]) -> str:
    """Every contact as a vCard 3.0 (CRLF lines), one card each."""
    import vobject

    cards = []
    for contact in contacts:
        card = vobject.vCard()
        display = contact.name or contact.email
        card.add("fn").value = display
        given, _, family = (contact.name or "").partition(" ")
        card.add("n").value = vobject.vcard.Name(family=family, given=given)
        mail = card.add("email")
        mail.value = contact.email
        mail.type_param = "INTERNET"
        if contact.phone:
            card.add("tel").value = contact.phone
        if contact.note:
            card.add("note").value = contact.note
        cards.append(card.serialize())
    return "".join(cards)
