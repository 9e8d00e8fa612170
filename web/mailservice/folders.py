"""Folder management for the web: create, rename and delete through the mailbox service,
with the rules IMAP's CREATE, RENAME and DELETE follow (the service's), and core errors
turned into the web's 400s and 404s."""

from __future__ import annotations

from mailrs.errors import InvalidMailboxName, MailboxExists, MailboxNotFound
from mailrs.store.names import INBOX, normalize_mailbox_name
from web.mailservice.errors import BadInput, NotFound
from web.mailservice.mailbox import UserMailbox

MAX_NAME = 200


def _name(name: str) -> str:
    """A canonical folder name from a form; BadInput for an empty or impossible one."""
    cleaned = name.strip()
    if not cleaned or len(cleaned) > MAX_NAME:
        raise BadInput(f"a folder name has 1 to {MAX_NAME} characters")
    try:
        return normalize_mailbox_name(cleaned)
    except (InvalidMailboxName, ValueError) as exc:
        raise BadInput(f"{cleaned!r} cannot be a folder name") from exc


def _existing(mailbox: UserMailbox, name: str) -> str:
    canonical = _name(name)
    if canonical not in {info.name for info in mailbox.folders()}:
        raise NotFound(f"no folder {canonical!r}")
    return canonical


def create_folder(mailbox: UserMailbox, name: str) -> str:
    """Create a folder (``Projects/2026`` creates ``Projects`` too); its canonical name."""
    canonical = _name(name)
    mailbox.folders()  # the user's Maildir exists
    try:
        return mailbox.service.create_folder(canonical)
    except MailboxExists as exc:
        raise BadInput(f"a folder {canonical!r} exists already") from exc
    except InvalidMailboxName as exc:
        raise BadInput(str(exc)) from exc


def rename_folder(mailbox: UserMailbox, old: str, new: str) -> str:
    """Rename a folder and its subfolders; renaming INBOX moves its messages, as IMAP."""
    source, target = _existing(mailbox, old), _name(new)
    if source == target:
        raise BadInput("the new name is the same")
    try:
        return mailbox.service.rename_folder(source, target)
    except MailboxExists as exc:
        raise BadInput(f"a folder {target!r} exists already") from exc
    except InvalidMailboxName as exc:
        raise BadInput(str(exc)) from exc


def delete_folder(mailbox: UserMailbox, name: str) -> str:
    """Delete a folder and its messages (never INBOX; subfolders stay, as IMAP)."""
    canonical = _existing(mailbox, name)
    if canonical == INBOX:
        raise BadInput("INBOX cannot be deleted")
    try:
        mailbox.service.delete_folder(canonical)
    except MailboxNotFound as exc:
        raise NotFound(str(exc)) from exc
    except InvalidMailboxName as exc:
        raise BadInput(str(exc)) from exc
    return canonical
