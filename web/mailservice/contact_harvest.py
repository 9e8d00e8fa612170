"""Contacts collected from mail exchanged: senders of mail received, recipients of mail sent.

Reads the header blocks the full-text index keeps (as conversations and search do), only
for messages newer than the last run (``contact_harvests`` holds the highest UID read per
folder), so a call after the first costs a status look-up per folder. Drafts, Junk and
Trash are left out; so are the user's own address and robots (``noreply@``, daemons).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re

from sqlalchemy.orm import Session

from mailrs.accounts.contacts import harvest_mark, note_exchanged, set_harvest_mark
from mailrs.store.records import MessageRef
from web.mailservice.mailbox import SENT, TRASH, UserMailbox

SKIPPED_FOLDERS = {"Drafts", "Junk", TRASH}
FIRST_RUN_MESSAGES = 2000  # the newest of a folder read the first time; older ones never
_ROBOT = re.compile(
    r"^(no-?reply|do-?not-?reply|mailer-daemon|postmaster|bounces?|notifications?)([+.@-]|$)",
    re.I,
)


def _fields(headers: str, names: tuple[str, ...]) -> list[str]:
    values = []
    for line in headers.split("\n"):
        name, _, value = line.partition(":")
        if name.strip().lower() in names:
            values.append(value.strip())
    return values


def people_in(headers: str, sent: bool) -> list[tuple[str, str]]:
    """``(name, address)`` of the sender of received mail, or of the recipients of sent mail."""
    names = ("to", "cc", "bcc") if sent else ("from",)
    found = []
    for name, address in email.utils.getaddresses(_fields(headers, names)):
        address = address.strip()
        if "@" in address and not _ROBOT.match(address):
            found.append((name.strip().strip('"'), address))
    return found


def collect_contacts(session: Session, owner: str, mailbox: UserMailbox) -> int:
    """Add the people of mail not read yet to the owner's contacts; how many were new."""
    own = mailbox.address.lower()
    service = mailbox.service
    added = 0
    for folder in service.list_folders():
        if folder in SKIPPED_FOLDERS:
            continue
        status = service.status(folder)
        validity, last = harvest_mark(session, owner, folder)
        if validity == status.uidvalidity and status.uidnext - 1 <= last:
            continue
        if validity != status.uidvalidity:
            last = 0
        fresh = [m for m in mailbox.messages(folder) if m.uid > last][-FIRST_RUN_MESSAGES:]
        if fresh:
            service.ensure_content(folder, [MessageRef.of(m) for m in fresh])
            texts = service.header_text(folder)
            people = []
            for message in fresh:
                when = dt.datetime.fromtimestamp(message.internaldate, dt.UTC)
                for name, address in people_in(texts.get(message.uid, ""), folder == SENT):
                    if address.lower() != own:
                        people.append((name, address, when))
            added += note_exchanged(session, owner, people)
        set_harvest_mark(session, owner, folder, status.uidvalidity, status.uidnext - 1)
    return added
