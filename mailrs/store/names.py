"""Mailbox (folder) names: IMAP names with ``/`` as delimiter, mapped to Maildir++ folders.

``INBOX`` is the Maildir itself; ``Archive/2024`` lives in ``.Archive.2024``. Names may
hold what Dovecot accepts (``\\``, ``.``, spaces, any Unicode), but never anything that
could leave the user's directory: a ``.`` inside a level is written ``%2E`` on disk
(``%`` is never part of a name, so the mapping is reversible and every real ``.`` in a
directory name is a level separator), and ``.``/``..`` levels, NUL and other control
characters, and names whose directory would pass the file system's 255-byte limit raise
``InvalidMailboxName``.
"""

from __future__ import annotations

from mailrs.errors import InvalidMailboxName

DELIMITER = "/"
INBOX = "INBOX"
MAX_NAME = 255
MAX_DIRNAME_BYTES = 255  # NAME_MAX of common file systems
SPECIAL_FOLDERS = ("Sent", "Drafts", "Trash", "Junk", "Archive")
_FORBIDDEN = set("*%")  # LIST wildcards; ``%`` is also the on-disk escape
_DOT_ESCAPE = "%2E"


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
        if part in (".", ".."):
            raise InvalidMailboxName("mailbox name must not have a '.' or '..' level")
        if _FORBIDDEN & set(part):
            raise InvalidMailboxName("mailbox name contains a reserved character")
    if parts[0].upper() == INBOX:
        if len(parts) == 1:
            return INBOX
        parts[0] = INBOX
    if len(_dirname(parts).encode("utf-8")) > MAX_DIRNAME_BYTES:
        raise InvalidMailboxName("mailbox name is too long")
    return DELIMITER.join(parts)


def _dirname(parts: list[str]) -> str:
    return "." + ".".join(part.replace(".", _DOT_ESCAPE) for part in parts)


def folder_dirname(name: str) -> str:
    """The Maildir++ directory of a mailbox ('' for INBOX, '.Sent', '.Archive.2024')."""
    canonical = normalize_mailbox_name(name)
    if canonical == INBOX:
        return ""
    return _dirname(canonical.split(DELIMITER))


def mailbox_from_dirname(dirname: str) -> str | None:
    """The mailbox name of a Maildir++ directory, or None if it is not a folder name."""
    if not dirname.startswith(".") or dirname in (".", ".."):
        return None
    parts = dirname[1:].split(".")
    if any("%" in part.replace(_DOT_ESCAPE, "") for part in parts):
        return None  # not written by folder_dirname: the mapping would not be reversible
    name = DELIMITER.join(part.replace(_DOT_ESCAPE, ".") for part in parts)
    try:
        canonical = normalize_mailbox_name(name)
    except InvalidMailboxName:
        return None
    return canonical if folder_dirname(canonical) == dirname else None
