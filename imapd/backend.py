"""The storage side of the server: accounts, folders and messages through ``mailrs``.

Every call into the core blocks (Argon2, SQLite, the file system), so each one runs
in a worker thread; the event loop only awaits. ``UserMail`` is opened at LOGIN and
holds that user's mailbox index for the life of the connection, and the file name of
each message as last synchronised, so reads and flag changes go straight to the file
instead of scanning the folder (the store falls back to a scan when a name is stale).
Changes made here are published as mailbox events so other sessions and the web hear
of them at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from imapd.search_content import content_of
from mailrs.accounts.users import authenticate, find_user
from mailrs.config import Settings
from mailrs.db.engine import Database
from mailrs.db.models import User
from mailrs.errors import MailboxNotFound, MessageNotFound
from mailrs.store.events import publish_event
from mailrs.store.index import (
    Content,
    MailboxState,
    MailboxStatus,
    MailIndex,
    merge_letters,
)
from mailrs.store.maildir import MaildirStore
from mailrs.store.names import INBOX, normalize_mailbox_name

log = logging.getLogger("imapd.backend")


@dataclass(frozen=True)
class SyncResult:
    """A synchronised mailbox and the UIDs of the messages that were still in new/."""

    state: MailboxState
    recent: frozenset[int]


@dataclass(frozen=True)
class MessageRef:
    """Enough to find one message of the selected mailbox: UID, key and flags."""

    uid: int
    key: str
    flags: str
    keywords: str = ""
    zone: int | None = None  # INTERNALDATE's zone, carried to copies


class Backend:
    """The shared services of the server process: the database and the Maildir store."""

    def __init__(
        self, database: Database, store: MaildirStore, settings: Settings | None = None
    ) -> None:
        self.database = database
        self.store = store
        self.settings = settings

    def _authenticate(self, username: str, password: str) -> str:
        with self.database.session() as session:
            return authenticate(session, username, password).address

    async def authenticate(self, username: str, password: str) -> str:
        """The account address if the password is right; raises AuthFailed."""
        return await asyncio.to_thread(self._authenticate, username, password)

    def _quota(self, address: str) -> int | None:
        with self.database.session() as session:
            user: User | None = find_user(session, address)
            return None if user is None else user.quota_bytes

    async def quota(self, address: str) -> int | None:
        """The user's quota in bytes (None: unlimited)."""
        return await asyncio.to_thread(self._quota, address)

    def open_user(self, address: str) -> UserMail:
        """The mail of one logged-in user."""
        return UserMail(self.store, address, self.settings)


class UserMail:
    """One user's mailboxes: listing, synchronising, reading, flagging, copying."""

    def __init__(self, store: MaildirStore, address: str, settings: Settings | None = None) -> None:
        self.store = store
        self.address = address
        self.settings = settings
        self.index = MailIndex(store, address)
        # mailbox -> key -> file name; used and changed on the event loop only
        self._filenames: dict[str, dict[str, str]] = {}

    def filename_of(self, mailbox: str, key: str) -> str | None:
        """The file name of a message as last seen, or None if not known."""
        return self._filenames.get(mailbox, {}).get(key)

    async def publish(self, kind: str, folder: str) -> None:
        """Tell other sessions (and the web) that a mailbox changed."""
        if self.settings is None:
            return
        event: dict[str, Any] = {"kind": kind, "folder": folder, "source": "imap"}
        await asyncio.to_thread(publish_event, self.settings, self.address, event)

    async def list_mailboxes(self) -> list[str]:
        """Every mailbox name, INBOX first."""
        return await asyncio.to_thread(self.store.list_folders, self.address)

    def _claim(self, state: MailboxState, claim_recent: bool) -> SyncResult:
        """The \\Recent messages of a session: claimed for good on SELECT, only shown on EXAMINE.

        The index records which messages are recent (new deliveries, APPEND, COPY, MOVE),
        so exactly one session gets each; claimed files still in new/ move to cur/.
        """
        if claim_recent:
            recent = self.index.claim_recent(state.name)
        else:
            recent = self.index.recent_uids(state.name)
        fresh = [m for m in state.messages if m.relpath.startswith("new/")]
        if claim_recent and fresh:
            # Move them to cur/ and use the new names; the index records the renames at
            # its next sync, so this costs no second scan of the folder.
            moved: dict[str, str] = {}
            for message in fresh:
                try:
                    stored = self.store.set_flags(
                        self.address, state.name, message.key, message.flags, message.filename
                    )
                except MessageNotFound:
                    continue  # removed meanwhile; the next sync drops it
                moved[message.key] = stored.filename
            messages = [replace(m, filename=moved.get(m.key, m.filename)) for m in state.messages]
            state = replace(state, messages=messages)
        return SyncResult(state, frozenset(recent))

    def _sync(self, mailbox: str, claim_recent: bool) -> SyncResult:
        return self._claim(self.index.sync(mailbox), claim_recent)

    def _remember(self, state: MailboxState) -> None:
        names = {m.key: m.filename for m in state.messages}
        if state.uids is None:
            self._filenames[state.name] = names
        else:  # only the changes: keep the rest
            self._filenames.setdefault(state.name, {}).update(names)

    async def sync(self, mailbox: str, claim_recent: bool) -> SyncResult:
        """Synchronise a mailbox; with ``claim_recent`` its new/ messages move to cur/."""
        result = await asyncio.to_thread(self._sync, mailbox, claim_recent)
        self._remember(result.state)
        return result

    def _changes(
        self, mailbox: str, modseq: int, uidnext: int, claim_recent: bool
    ) -> SyncResult | None:
        state = self.index.sync_changes(mailbox, modseq, uidnext)
        return None if state is None else self._claim(state, claim_recent)

    async def changes(
        self, mailbox: str, modseq: int, uidnext: int, claim_recent: bool
    ) -> SyncResult | None:
        """Like ``sync``, but None when the mailbox is as the caller last saw it."""
        result = await asyncio.to_thread(self._changes, mailbox, modseq, uidnext, claim_recent)
        if result is not None:
            self._remember(result.state)
        return result

    async def status(self, mailbox: str) -> MailboxStatus:
        """The counters of a mailbox (STATUS)."""
        return await asyncio.to_thread(self.index.status, mailbox)

    async def read(self, mailbox: str, key: str) -> bytes:
        """The bytes of one message; raises MessageNotFound."""
        hint = self.filename_of(mailbox, key)
        return await asyncio.to_thread(self.store.read, self.address, mailbox, key, hint)

    async def read_many(self, mailbox: str, keys: list[str]) -> list[bytes | None]:
        """The bytes of several messages in one thread hop (None for a vanished one)."""
        items = [(key, self.filename_of(mailbox, key)) for key in keys]
        return await asyncio.to_thread(self.store.read_many, self.address, mailbox, items)

    def _change_flags(
        self, mailbox: str, ref: MessageRef, mode: str, letters: str, keywords: str
    ) -> tuple[str, str, str, int | None]:
        """One flag change applied to the file as it is now: (name, letters, keywords, modseq)."""
        hint = self.filename_of(mailbox, ref.key)
        for _ in range(3):
            current = self.store.get(self.address, mailbox, ref.key, hint)
            target = merge_letters(mode, current.flags, letters)
            try:
                stored = self.store.set_flags(
                    self.address, mailbox, ref.key, target, current.filename
                )
            except MessageNotFound:
                hint = None  # renamed meanwhile by someone else: look again
                continue
            modseq, merged = self.index.set_flags(
                mailbox, ref.uid, stored.filename, stored.flags, keywords, mode
            )
            return stored.filename, stored.flags, merged, modseq
        raise MessageNotFound(f"message {ref.key!r} keeps moving")

    async def set_flags(self, mailbox: str, key: str, letters: str) -> str:
        """Replace a message's flags (no index update); returns the flags as stored."""
        hint = self.filename_of(mailbox, key)
        stored = await asyncio.to_thread(
            self.store.set_flags, self.address, mailbox, key, letters, hint
        )
        self._filenames.setdefault(mailbox, {})[key] = stored.filename
        return stored.flags

    async def store_flags(
        self, mailbox: str, changes: list[tuple[MessageRef, str, str, str]]
    ) -> list[tuple[int, str, str, int | None]]:
        """Apply (message, mode, letters, keywords) changes, mode ``+``, ``-`` or "" (replace),
        to each message's current flags; returns (uid, letters, keywords, modseq) as stored."""

        def work() -> list[tuple[int, str, str, int | None, str]]:
            out = []
            for ref, mode, letters, keywords in changes:
                try:
                    filename, final, merged, modseq = self._change_flags(
                        mailbox, ref, mode, letters, keywords
                    )
                except MessageNotFound:
                    continue
                out.append((ref.uid, final, merged, modseq, filename))
            return out

        results = await asyncio.to_thread(work)
        names = self._filenames.setdefault(mailbox, {})
        by_uid = {ref.uid: ref.key for ref, _, _, _ in changes}
        for uid, _, _, _, filename in results:
            names[by_uid[uid]] = filename
        return [(uid, letters, kw, modseq) for uid, letters, kw, modseq, _ in results]

    def _append(
        self,
        mailbox: str,
        data: bytes,
        letters: str,
        keywords: str,
        date: float | None,
        zone: int | None,
    ) -> tuple[int, int]:
        stored = self.store.deliver(
            self.address,
            data,
            mailbox,
            flags=letters,
            mtime=date if date is not None else time.time(),
        )
        return self.index.add(mailbox, stored, keywords, zone)

    async def append(
        self,
        mailbox: str,
        data: bytes,
        letters: str,
        keywords: str,
        date: float | None,
        zone: int | None = None,
    ) -> tuple[int, int]:
        """Store a new message; returns (uidvalidity, uid). ``zone``: the date's, in minutes."""
        result = await asyncio.to_thread(self._append, mailbox, data, letters, keywords, date, zone)
        await self.publish("new_mail", normalize_mailbox_name(mailbox))
        return result

    def _copy(
        self, source: str, refs: list[MessageRef], destination: str, move: bool
    ) -> tuple[int, list[tuple[int, int]]]:
        pairs: list[tuple[int, int]] = []
        uidvalidity = self.index.status(destination).uidvalidity
        moved: list[int] = []
        # MOVE into the mailbox itself is a copy (a new UID, RFC 6851 3.3) and an expunge
        to_self = normalize_mailbox_name(source) == normalize_mailbox_name(destination)
        for ref in refs:
            hint = self.filename_of(source, ref.key)
            try:
                if move and not to_self:
                    stored = self.store.move(self.address, ref.key, source, destination, hint)
                    moved.append(ref.uid)
                else:
                    stored = self.store.copy(self.address, ref.key, source, destination, hint)
                    if move:
                        self.store.delete(self.address, source, ref.key, hint)
                        moved.append(ref.uid)
            except MessageNotFound:
                continue
            uidvalidity, uid = self.index.add(destination, stored, ref.keywords, ref.zone)
            pairs.append((ref.uid, uid))
        if moved:
            self.index.remove(source, moved)
        return uidvalidity, pairs

    async def copy(
        self, source: str, refs: list[MessageRef], destination: str, move: bool = False
    ) -> tuple[int, list[tuple[int, int]]]:
        """Copy (or move) messages; returns the destination UIDVALIDITY and (old, new) UIDs."""
        result = await asyncio.to_thread(self._copy, source, refs, destination, move)
        await self.publish("new_mail", normalize_mailbox_name(destination))
        if move and result[1]:
            await self.publish("expunge", source)
        return result

    def _expunge(self, mailbox: str, refs: list[MessageRef]) -> list[int]:
        removed = []
        for ref in refs:
            hint = self.filename_of(mailbox, ref.key)
            with contextlib.suppress(MessageNotFound):
                self.store.delete(self.address, mailbox, ref.key, hint)
            removed.append(ref.uid)
        if removed:
            self.index.remove(mailbox, removed)
        return removed

    async def expunge(self, mailbox: str, refs: list[MessageRef]) -> list[int]:
        """Delete messages for good; returns their UIDs."""
        removed = await asyncio.to_thread(self._expunge, mailbox, refs)
        if removed:
            await self.publish("expunge", mailbox)
        return removed

    # -- folders --------------------------------------------------------------------------

    def _create_parents(self, name: str) -> None:
        """Create the missing superior mailboxes of ``name`` (RFC 3501 CREATE and RENAME)."""
        parts = name.split("/")
        existing = set(self.store.list_folders(self.address))
        for depth in range(1, len(parts)):
            parent = "/".join(parts[:depth])
            if parent != INBOX and parent not in existing:
                self.store.create_folder(self.address, parent)

    async def create(self, mailbox: str) -> str:
        """Create a mailbox (and any missing parents); returns its canonical name."""

        def work() -> str:
            name = normalize_mailbox_name(mailbox)
            self._create_parents(name)
            return self.store.create_folder(self.address, name)

        name = await asyncio.to_thread(work)
        await self.publish("mailbox", name)
        return name

    async def delete(self, mailbox: str) -> None:
        """Delete a mailbox and its messages."""

        def work() -> None:
            self.store.delete_folder(self.address, mailbox)
            self.index.forget(mailbox)

        await asyncio.to_thread(work)
        await self.publish("mailbox", normalize_mailbox_name(mailbox))

    async def rename(self, old: str, new: str) -> None:
        """Rename a mailbox; renaming INBOX moves its messages to a new mailbox."""

        def work() -> None:
            old_name, new_name = normalize_mailbox_name(old), normalize_mailbox_name(new)
            self._create_parents(new_name)
            if old_name == INBOX:
                self.index.sync(INBOX)
                self.store.create_folder(self.address, new_name)
                for message in self.store.list_messages(self.address, INBOX):
                    with contextlib.suppress(MessageNotFound):
                        self.store.move(
                            self.address, message.key, INBOX, new_name, message.filename
                        )
                self.index.rename(INBOX, new_name)
                return
            self.store.rename_folder(self.address, old_name, new_name)
            self.index.rename(old_name, new_name)

        await asyncio.to_thread(work)
        await self.publish("mailbox", normalize_mailbox_name(new))

    async def exists(self, mailbox: str) -> bool:
        """True when the mailbox exists."""

        def work() -> bool:
            try:
                self.store.folder_path(self.address, mailbox)
            except MailboxNotFound:
                return False
            return True

        return await asyncio.to_thread(work)

    async def subscribe(self, mailbox: str) -> None:
        """Subscribe to a mailbox."""
        await asyncio.to_thread(self.index.subscribe, mailbox)

    async def unsubscribe(self, mailbox: str) -> bool:
        """Unsubscribe; False if the name was not subscribed."""
        return await asyncio.to_thread(self.index.unsubscribe, mailbox)

    async def subscriptions(self) -> list[str]:
        """Every subscribed name."""
        return await asyncio.to_thread(self.index.subscriptions)

    async def total_size(self) -> int:
        """Bytes used by every indexed message (QUOTA)."""
        return await asyncio.to_thread(self.index.total_size)

    # -- searching ------------------------------------------------------------------------

    def _ensure_content(self, mailbox: str, refs: Iterable[MessageRef]) -> None:
        by_uid = {ref.uid: ref for ref in refs}
        missing = self.index.without_content(mailbox, by_uid)
        batch: list[tuple[int, Content]] = []
        for uid in missing:
            ref = by_uid[uid]
            try:
                data = self.store.read(
                    self.address, mailbox, ref.key, self.filename_of(mailbox, ref.key)
                )
            except MessageNotFound:
                continue
            batch.append((uid, content_of(data)))
            if len(batch) >= 500:
                self.index.add_content(mailbox, batch)
                batch = []
        if batch:
            self.index.add_content(mailbox, batch)

    async def ensure_content(self, mailbox: str, refs: list[MessageRef]) -> None:
        """Parse and index the messages a search needs that are not indexed yet."""
        await asyncio.to_thread(self._ensure_content, mailbox, refs)

    async def search_text(self, mailbox: str, column: str, text: str) -> set[int]:
        """UIDs whose indexed ``column`` contains ``text``."""
        return await asyncio.to_thread(self.index.search_text, mailbox, column, text)

    async def header_text(self, mailbox: str) -> dict[int, str]:
        """The indexed header block of each message, by UID."""
        return await asyncio.to_thread(self.index.header_text, mailbox)

    async def sent_dates(self, mailbox: str) -> dict[int, float | None]:
        """The Date: header of each message, by UID."""
        return await asyncio.to_thread(self.index.sent_dates, mailbox)

    async def close(self) -> None:
        """Release the index connection."""
        await asyncio.to_thread(self.index.close)
