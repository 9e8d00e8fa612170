"""One user's mailboxes for the web pages, the API and the assistant.

A thin layer over the core's mailbox service (``mailrs.store.mailbox.MailboxService``),
the same one IMAP uses: messages are named by (folder, UID), the UIDs IMAP shows, and
every change (flags, move, delete, the Sent copy) is the service's, which updates the
Maildir, the index and MODSEQ and publishes the typed event. So a change made here
reaches an IMAP session exactly as one made by another IMAP session, and the other way
round. What is the web's own: folder names checked into 400s, NotFound for 404s, the
Trash rule of ``delete``, flag names and message list lines.
"""

from __future__ import annotations

import datetime as dt
import email.utils
from dataclasses import dataclass
from types import TracebackType

from mailrs.config import Settings
from mailrs.errors import InvalidMailboxName, MailboxNotFound, MessageNotFound
from mailrs.store.content import content_of
from mailrs.store.mailbox import MailboxService
from mailrs.store.maildir import MaildirStore
from mailrs.store.names import INBOX, normalize_mailbox_name
from mailrs.store.records import IndexedMessage
from web.mailservice.errors import BadInput, NotFound
from web.mailservice.flags import flag_names

TRASH = "Trash"
SENT = "Sent"


@dataclass(frozen=True)
class FolderInfo:
    """A folder with its message and unread counts."""

    name: str
    total: int
    unread: int


@dataclass(frozen=True)
class MessageSummary:
    """One line of a message list."""

    folder: str
    uid: int
    subject: str
    sender: str
    sender_name: str
    sender_address: str
    date: dt.datetime
    flags: tuple[str, ...]
    size: int

    @property
    def unread(self) -> bool:
        """True when the message has not been seen."""
        return "seen" not in self.flags

    def as_json(self) -> dict[str, object]:
        """The summary as the API returns it."""
        return {
            "folder": self.folder,
            "uid": self.uid,
            "subject": self.subject,
            "from": self.sender,
            "from_name": self.sender_name,
            "from_address": self.sender_address,
            "date": self.date.isoformat(timespec="seconds"),
            "flags": list(self.flags),
            "unread": self.unread,
            "size": self.size,
        }


@dataclass(frozen=True)
class MessagePage:
    """A page of a folder, newest first."""

    folder: str
    messages: list[MessageSummary]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        """How many pages the folder has (at least one)."""
        return max(1, -(-self.total // self.per_page))


def folder_name(name: str | None) -> str:
    """A canonical mailbox name, INBOX for none; BadInput for a name that cannot be."""
    try:
        return normalize_mailbox_name(name or INBOX)
    except (InvalidMailboxName, ValueError) as exc:
        raise BadInput(f"bad folder name {name!r}") from exc


class UserMailbox:
    """The folders and messages of one address; close it (or use ``with``) when done.

    ``source`` names this caller in the change events (``web``, ``assistant``).
    """

    def __init__(
        self,
        store: MaildirStore,
        address: str,
        settings: Settings | None = None,
        source: str = "web",
    ):
        self.address = address
        self.service = MailboxService(
            store, address, settings, source=source, content_parser=content_of
        )
        self._ready = False

    def __enter__(self) -> UserMailbox:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the mailbox index."""
        self.service.close()

    def _mail(self) -> MailboxService:
        """The service, with the user's Maildir created on first use."""
        if not self._ready:
            self.service.ensure_user()
            self._ready = True
        return self.service

    def messages(self, folder: str) -> list[IndexedMessage]:
        """Every message of a folder in UID order (synchronised with the Maildir)."""
        name = folder_name(folder)
        try:
            return self._mail().messages(name)
        except (MailboxNotFound, InvalidMailboxName) as exc:
            raise NotFound(f"no folder {name!r}") from exc

    def folders(self) -> list[FolderInfo]:
        """Every folder with its counts, INBOX first."""
        names = self._mail().list_folders()
        infos = []
        for name in names:
            messages = self.messages(name)
            unread = sum("S" not in m.flags for m in messages)
            infos.append(FolderInfo(name, len(messages), unread))
        return infos

    def get(self, folder: str, uid: int) -> IndexedMessage:
        """One message by UID; NotFound when the folder has no such UID."""
        for message in self.messages(folder):
            if message.uid == uid:
                return message
        raise NotFound(f"no message {uid} in {folder_name(folder)!r}")

    def summary(self, folder: str, message: IndexedMessage) -> MessageSummary:
        """The list line of one message (reads only its header block)."""
        summary = self._mail().summary(folder, message)
        name, address = email.utils.parseaddr(summary.sender)
        return MessageSummary(
            folder=folder,
            uid=message.uid,
            subject=summary.subject,
            sender=summary.sender,
            sender_name=name or address or summary.sender,
            sender_address=address,
            date=summary.date or dt.datetime.fromtimestamp(message.internaldate, dt.UTC),
            flags=tuple(flag_names(message.flags)),
            size=message.size,
        )

    def page(self, folder: str, page: int = 1, per_page: int = 25) -> MessagePage:
        """One page of a folder, newest first; pages count from 1 (past the last: the last)."""
        name = folder_name(folder)
        if page < 1 or not 1 <= per_page <= 200:
            raise BadInput("page must be 1 or more and per_page between 1 and 200")
        newest_first = list(reversed(self.messages(name)))
        page = min(page, max(1, -(-len(newest_first) // per_page)))  # ?page=999: the last
        chunk = newest_first[(page - 1) * per_page : page * per_page]
        rows = []
        for message in chunk:
            try:
                rows.append(self.summary(name, message))
            except MessageNotFound:
                continue  # moved or deleted since the sync
        return MessagePage(name, rows, len(newest_first), page, per_page)

    def raw(self, folder: str, uid: int) -> bytes:
        """The bytes of one message."""
        message = self.get(folder, uid)
        try:
            return self._mail().read(folder_name(folder), message.key, message.filename)
        except MessageNotFound as exc:
            raise NotFound(f"no message {uid}") from exc

    def set_flags(self, folder: str, uid: int, add: str = "", remove: str = "") -> list[str]:
        """Add and remove flag letters; returns the message's flag names afterwards."""
        name = folder_name(folder)
        try:
            stored = self._mail().set_flags(name, uid, add=add, remove=remove)
        except (MessageNotFound, MailboxNotFound, InvalidMailboxName) as exc:
            raise NotFound(f"no message {uid} in {name!r}") from exc
        return flag_names(stored.letters)

    def move(self, folder: str, uid: int, destination: str) -> int:
        """Move a message to another folder; returns its UID there."""
        source, target = folder_name(folder), folder_name(destination)
        self.get(source, uid)
        self.messages(target)  # NotFound for a folder that does not exist
        if source == target:
            return uid
        try:
            copied = self._mail().move(source, [uid], target)
        except MessageNotFound as exc:
            raise NotFound(f"no message {uid}") from exc
        for old, new in copied.pairs:
            if old == uid:
                return new
        raise NotFound(f"message {uid} vanished while moving")

    def delete(self, folder: str, uid: int) -> str:
        """Move to Trash; in Trash, remove for good. Returns ``"trash"`` or ``"deleted"``."""
        source = folder_name(folder)
        if source != TRASH:
            self.move(source, uid, TRASH)
            return "trash"
        self.get(source, uid)
        if not self._mail().expunge_uids(source, [uid]):
            raise NotFound(f"no message {uid}")
        return "deleted"

    def append(self, folder: str, data: bytes, flags: str = "") -> int:
        """Store a message in a folder (e.g. the Sent copy); returns its UID."""
        name = folder_name(folder)
        self.messages(name)
        return self._mail().append(name, data, letters=flags).uid
