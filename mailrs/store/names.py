"""Mailbox (folder) names: IMAP names with ``/`` as delimiter, mapped to Maildir++ folders.

``INBOX`` is the Maildir itself; ``Archive/2024`` lives in ``.Archive.2024``. A name that
could leave the user's directory (``..``, absolute paths, NUL, control characters, the
on-disk separator ``.``) raises ``InvalidMailboxName``.
"""

from __future__ import annotations

from mailrs.errors import InvalidMailboxName

DELIMITER = "/"
INBOX = "INBOX"
MAX_NAME = 255
SPECIAL_FOLDERS = ("Sent", "Drafts", "Trash", "Junk", "Archive")
_FORBIDDEN = set("\\*%")


def normalize_mailbox_name(name: str) -> str:
    """Check a mailbox name and return its canonical form (INBOX upper-cased)."""
    if not isinstance(name, str) or not name:
        raise InvalidMailboxName("mailbox name is empty")
    if len(name) > MAX_NAME:
        raise InvalidMailboxName("mailbox name is too long")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in name):
        raise InvalidMailboxName("mailbox name contains control characters")
    if name.startswith(DELIMITER) or name.endswith(DELIMITER):
        raise InvalidMailboxName("mailbox name must not start or end with '/'")
    parts = name.split(DELIMITER)
    for part in parts:
        if not part or part.strip() != part:
            raise InvalidMailboxName("mailbox name has an empty or padded level")
        if part in (".", "..") or "." in part:
            raise InvalidMailboxName("mailbox name must not contain '.'")
        if _FORBIDDEN & set(part):
            raise InvalidMailboxName("mailbox name contains a reserved character")
    if parts[0].upper() == INBOX:
        if len(parts) == 1:
            return INBOX
        parts[0] = INBOX
    return DELIMITER.join(parts)


def folder_dirname(name: str) -> str:
    """The Maildir++ directory of a mailbox ('' for INBOX, '.Sent', '.Archive.2024')."""
    canonical = normalize_mailbox_name(name)
    if canonical == INBOX:
        return ""
    return "." + canonical.replace(DELIMITER, ".")


def mailbox_from_dirname(dirname: str) -> str | None:
    """The mailbox name of a Maildir++ directory, or None if it is not a folder name."""
    if not dirname.startswith(".") or dirname in (".", ".."):
        return None
    name = dirname[1:].replace(".", DELIMITER)
    try:
        return normalize_mailbox_name(name)
    except InvalidMailboxName:
        return None
