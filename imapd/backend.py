"""The storage side of the server: accounts, and one user's mail through the mailbox service.

Every call into the core blocks (Argon2, SQLite, the file system), so each one runs
in a worker thread; the event loop only awaits. ``UserMail`` is opened at LOGIN and
wraps that user's ``mailrs.store.mailbox.MailboxService`` for the life of the
connection: every change (flags, APPEND, COPY, MOVE, EXPUNGE, folders) is the service's,
which updates the Maildir, the index and MODSEQ and publishes the typed change event,
exactly as it does for the web. What stays here is IMAP session state: the file name of
each message as last synchronised, so reads and flag changes go straight to the file
instead of scanning the folder (the store falls back to a scan when a name is stale).
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from imapd.event_hub import EventHub
from imapd.fetch_cache import FetchCache
from mailrs.accounts.credential_cache import CredentialCache
from mailrs.accounts.urlauth_keys import delete_keys, mailbox_key, owner_uid, reset_key
from mailrs.accounts.users import Credentials, check_credentials, lookup_credentials, quota_of
from mailrs.config import Settings
from mailrs.db.engine import Database
from mailrs.errors import AuthFailed, MailboxNotFound, MessageNotFound
from mailrs.store.content import content_of
from mailrs.store.filenames import split_filename
from mailrs.store.mailbox import (
    FlagsStored,
    FlagUpdate,
    MailboxService,
    MessageRef,
    SyncResult,
)
from mailrs.store.maildir import MaildirStore
from mailrs.store.records import MailboxStatus

__all__ = ["Backend", "ContentLookup", "FlagUpdate", "MessageRef", "SyncResult", "UserMail"]

log = logging.getLogger("imapd.backend")
_CONTENT_LOCKS: dict[tuple[str, str], threading.Lock] = {}  # (user, folder): see ensure_content
_CONTENT_LOCKS_GUARD = threading.Lock()
type ContentLookup = tuple[str, str, str]  # ("text", column, text), ("headers"|"sent", "", "")
type ContentAnswer = set[int] | dict[int, str] | dict[int, float | None]


type AppendedMessage = tuple[bytes, str, str, float | None, int | None]


class OverQuota(Exception):
    """The messages would take the account over its quota."""


class Backend:
    """The shared services of the server process: the database and the Maildir store."""

    def __init__(
        self, database: Database, store: MaildirStore, settings: Settings | None = None
    ) -> None:
        self.database = database
        self.store = store
        self.settings = settings
        self.credentials = CredentialCache()
        self.events = EventHub(settings) if settings is not None else None  # wakes IDLE
        self.fetch_cache = FetchCache()  # ENVELOPE, BODYSTRUCTURE, ... shared by all sessions
        # Argon2 runs on its own few threads (one per CPU: more would only queue on the
        # cores), so a flood of password checks never takes the threads that serve
        # mailbox commands and the cached logins of other users.
        self._hashing: ThreadPoolExecutor | None = None

    def _lookup(self, username: str) -> Credentials | None:
        with self.database.session() as session:
            return lookup_credentials(session, username)

    async def authenticate(self, username: str, password: str) -> str:
        """The account address if the password is right; raises AuthFailed.

        The account is read in one short session that is closed before the password
        is checked; a recent success with the same password skips Argon2.
        """
        found = await asyncio.to_thread(self._lookup, username)
        if found is not None and self.credentials.recently_verified(
            found.address, found.password_hash, password
        ):
            return check_credentials(found, password, lambda *_: True)
        if self._hashing is None:
            self._hashing = ThreadPoolExecutor(os.cpu_count() or 2, "imapd-argon2")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._hashing, check_credentials, found, password, self.credentials.verify
        )

    async def recently_verified(self, username: str, password: str) -> str | None:
        """The account address when this password was verified within the credential
        cache's TTL (no Argon2, no throttle count: only the right password hits), else None."""
        found = await asyncio.to_thread(self._lookup, username)
        if found is None or not self.credentials.recently_verified(
            found.address, found.password_hash, password
        ):
            return None
        try:
            return check_credentials(found, password, lambda *_: True)
        except AuthFailed:
            return None  # a disabled account: the full check says why

    def close(self) -> None:
        """Stop the hashing threads and the event follower."""
        if self.events is not None:
            self.events.close()
        if self._hashing is not None:
            self._hashing.shutdown(wait=False, cancel_futures=True)

    def _quota(self, address: str) -> int | None:
        with self.database.engine.connect() as connection:  # no ORM session: one column
            return quota_of(connection, address)

    async def quota(self, address: str) -> int | None:
        """The user's quota in bytes (None: unlimited)."""
        return await asyncio.to_thread(self._quota, address)

    def _fits(self, mail: UserMail, added: int) -> bool:
        limit = self._quota(mail.address)
        if limit is None:
            return True
        used = mail.usage()
        return used + added <= limit if added else used <= limit

    async def fits(self, mail: UserMail, added: int) -> bool:
        """True when ``added`` more bytes fit the user's quota; with none added, when the
        account is not over it already (quota and usage read in one thread hop)."""
        return await asyncio.to_thread(self._fits, mail, added)

    def _urlauth_key(self, address: str, mailbox: str, create: bool) -> tuple[bool, bytes | None]:
        with self.database.session() as session:
            owner = owner_uid(session, address)
            if owner is None:
                return False, None
            return True, mailbox_key(session, owner, mailbox, create)

    async def urlauth_key(
        self, address: str, mailbox: str, create: bool
    ) -> tuple[bool, bytes | None]:
        """(the account exists and is enabled, its URLAUTH key of ``mailbox`` or None);
        ``create`` makes the key when there is none (RFC 4467 GENURLAUTH)."""
        return await asyncio.to_thread(self._urlauth_key, address, mailbox, create)

    def _reset_urlauth(self, address: str, mailbox: str | None) -> None:
        with self.database.session() as session:
            owner = owner_uid(session, address)
            if owner is None:
                return
            if mailbox is None:
                delete_keys(session, owner)
            else:
                reset_key(session, owner, mailbox)

    async def reset_urlauth(self, address: str, mailbox: str | None) -> None:
        """RESETKEY: a new key for ``mailbox``, or (None) every key of the user removed."""
        await asyncio.to_thread(self._reset_urlauth, address, mailbox)

    def _append_checked(
        self, mail: UserMail, mailbox: str, messages: list[AppendedMessage]
    ) -> tuple[int, list[int]]:
        if not mail.service.exists(mailbox):
            raise MailboxNotFound(mailbox)
        if not self._fits(mail, sum(len(m[0]) for m in messages)):
            raise OverQuota(mail.address)
        return mail.append_all_now(mailbox, messages)

    async def append_checked(
        self, mail: UserMail, mailbox: str, messages: list[AppendedMessage]
    ) -> tuple[int, list[int]]:
        """APPEND's work in one thread hop: the mailbox must exist (MailboxNotFound) and
        the messages fit the quota (OverQuota); then they are stored, all or none, each
        file fsynced and linked before this returns. (uidvalidity, UIDs)."""
        return await asyncio.to_thread(self._append_checked, mail, mailbox, messages)

    def open_user(self, address: str) -> UserMail:
        """The mail of one logged-in user."""
        return UserMail(self.store, address, self.settings, self.fetch_cache)


class UserMail:
    """One user's mailboxes for one connection: async adapters around the mailbox service."""

    def __init__(
        self,
        store: MaildirStore,
        address: str,
        settings: Settings | None = None,
        fetch_cache: FetchCache | None = None,
    ) -> None:
        self.address = address
        self.settings = settings
        self.fetch_cache = fetch_cache if fetch_cache is not None else FetchCache()
        self.service = MailboxService(
            store, address, settings, source="imap", content_parser=content_of
        )
        # mailbox -> key -> file name; used and changed on the event loop only
        self._filenames: dict[str, dict[str, str]] = {}

    def filename_of(self, mailbox: str, key: str) -> str | None:
        """The file name of a message as last seen, or None if not known."""
        return self._filenames.get(mailbox, {}).get(key)

    def _hinted(self, mailbox: str, refs: Iterable[MessageRef]) -> list[MessageRef]:
        """The references with the file names this connection last saw."""
        return [replace(r, filename=self.filename_of(mailbox, r.key) or r.filename) for r in refs]

    def _remember(self, result: SyncResult) -> None:
        state = result.state
        names = {m.key: m.filename for m in state.messages}
        if not state.is_delta:
            self._filenames[state.name] = names
        else:  # only the changes: keep the rest
            self._filenames.setdefault(state.name, {}).update(names)

    async def list_mailboxes(self) -> list[str]:
        """Every mailbox name, INBOX first."""
        return await asyncio.to_thread(self.service.list_folders)

    async def sync(self, mailbox: str, claim_recent: bool) -> SyncResult:
        """Synchronise a mailbox; with ``claim_recent`` its new/ messages move to cur/."""
        result = await asyncio.to_thread(self.service.select, mailbox, claim_recent)
        self._remember(result)
        return result

    async def changes(
        self, mailbox: str, modseq: int, uidnext: int, claim_recent: bool
    ) -> SyncResult | None:
        """Like ``sync``, but None when the mailbox is as the caller last saw it."""
        result = await asyncio.to_thread(
            self.service.changes, mailbox, modseq, uidnext, claim_recent
        )
        if result is not None:
            self._remember(result)
        return result

    async def vanished_since(self, mailbox: str, modseq: int) -> list[int] | None:
        """UIDs expunged after ``modseq`` (QRESYNC); None when not recorded that far back."""
        return await asyncio.to_thread(self.service.index.vanished_since, mailbox, modseq)

    async def status(self, mailbox: str) -> MailboxStatus:
        """The counters of a mailbox (STATUS)."""
        return await asyncio.to_thread(self.service.status, mailbox)

    async def read(self, mailbox: str, key: str) -> bytes:
        """The bytes of one message; raises MessageNotFound."""
        hint = self.filename_of(mailbox, key)
        return await asyncio.to_thread(self.service.read, mailbox, key, hint)

    async def read_many(self, mailbox: str, keys: list[str]) -> list[bytes | None]:
        """The bytes of several messages in one thread hop (None for a vanished one)."""
        items = [(key, self.filename_of(mailbox, key)) for key in keys]
        return await asyncio.to_thread(self.service.read_many, mailbox, items)

    async def store_flags(self, mailbox: str, updates: list[FlagUpdate]) -> list[FlagsStored]:
        """Apply flag changes to each message's current flags; returns them as stored."""
        hinted = [replace(u, ref=self._hinted(mailbox, [u.ref])[0]) for u in updates]
        results = await asyncio.to_thread(self.service.store_flags, mailbox, hinted)
        names = self._filenames.setdefault(mailbox, {})
        keys = {u.ref.uid: u.ref.key for u in updates}
        for stored in results:
            names[keys[stored.uid]] = stored.filename
        return results

    async def set_flags(self, mailbox: str, key: str, letters: str) -> str:
        """Replace the flag letters of the message with this key; returns them as stored."""
        state = await asyncio.to_thread(self.service.sync, mailbox)
        uid = next((m.uid for m in state.messages if m.key == key), None)
        if uid is None:
            raise MessageNotFound(f"no message {key!r} in {mailbox!r}")
        ref = MessageRef(uid, key, filename=self.filename_of(mailbox, key))
        results = await self.store_flags(mailbox, [FlagUpdate(ref, "", letters)])
        if not results:
            raise MessageNotFound(f"no message {key!r} in {mailbox!r}")
        return results[0].letters

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
        appended = await asyncio.to_thread(
            self.service.append, mailbox, data, letters, keywords, date, zone
        )
        return appended.uidvalidity, appended.uid

    def append_all_now(
        self, mailbox: str, messages: list[tuple[bytes, str, str, float | None, int | None]]
    ) -> tuple[int, list[int]]:
        """``append_all`` in the calling thread."""
        done: list[MessageRef] = []
        uidvalidity = 0
        try:
            for data, letters, keywords, date, zone in messages:
                appended = self.service.append(mailbox, data, letters, keywords, date, zone)
                uidvalidity = appended.uidvalidity
                key = split_filename(appended.filename)[0]
                done.append(MessageRef(appended.uid, key, filename=appended.filename))
        except BaseException:
            if done:  # all or nothing (RFC 3502): take back what was stored
                self.service.expunge(mailbox, done)
            raise
        return uidvalidity, [ref.uid for ref in done]

    async def append_all(
        self, mailbox: str, messages: list[tuple[bytes, str, str, float | None, int | None]]
    ) -> tuple[int, list[int]]:
        """Store several messages, all or none (MULTIAPPEND); returns (uidvalidity, UIDs).

        Each message is (data, letters, keywords, date, zone).
        """
        return await asyncio.to_thread(self.append_all_now, mailbox, messages)

    async def copy(
        self, source: str, refs: list[MessageRef], destination: str, move: bool = False
    ) -> tuple[int, list[tuple[int, int]]]:
        """Copy (or move) messages; returns the destination UIDVALIDITY and (old, new) UIDs."""
        hinted = self._hinted(source, refs)
        try:
            copied = await asyncio.to_thread(self.service.copy, source, hinted, destination, move)
        finally:
            if move:
                self.fetch_cache.drop(self.address, source, [r.key for r in refs])
        return copied.uidvalidity, copied.pairs

    async def expunge(self, mailbox: str, refs: list[MessageRef]) -> list[int]:
        """Delete messages for good; returns their UIDs."""
        try:
            return await asyncio.to_thread(
                self.service.expunge, mailbox, self._hinted(mailbox, refs)
            )
        finally:
            self.fetch_cache.drop(self.address, mailbox, [r.key for r in refs])

    async def create(self, mailbox: str) -> str:
        """Create a mailbox (and any missing parents); returns its canonical name."""
        return await asyncio.to_thread(self.service.create_folder, mailbox)

    async def delete(self, mailbox: str) -> None:
        """Delete a mailbox and its messages."""
        await asyncio.to_thread(self.service.delete_folder, mailbox)

    async def rename(self, old: str, new: str) -> None:
        """Rename a mailbox; renaming INBOX moves its messages to a new mailbox."""
        await asyncio.to_thread(self.service.rename_folder, old, new)

    async def exists(self, mailbox: str) -> bool:
        """True when the mailbox exists."""
        return await asyncio.to_thread(self.service.exists, mailbox)

    async def subscribe(self, mailbox: str) -> None:
        """Subscribe to a mailbox."""
        await asyncio.to_thread(self.service.subscribe, mailbox)

    async def unsubscribe(self, mailbox: str) -> bool:
        """Unsubscribe; False if the name was not subscribed."""
        return await asyncio.to_thread(self.service.unsubscribe, mailbox)

    async def subscriptions(self) -> list[str]:
        """Every subscribed name."""
        return await asyncio.to_thread(self.service.subscriptions)

    async def total_size(self) -> int:
        """Bytes used by every message (QUOTA), new deliveries included."""
        return await asyncio.to_thread(self.usage)

    def usage(self) -> int:
        """Sync each folder (unchanged ones cost two stats), then the index's total."""
        for name in self.service.list_folders():
            self.service.sync(name)
        return self.service.total_size()

    # -- searching ------------------------------------------------------------------------

    def _ensure_content(self, mailbox: str, messages: list[tuple[int, str]]) -> None:
        """Parse and index the messages (UID, key) without content (in a worker thread)."""
        with _CONTENT_LOCKS_GUARD:
            lock = _CONTENT_LOCKS.setdefault((self.address, mailbox), threading.Lock())
        with lock:
            missing = set(self.service.index.without_content(mailbox, (u for u, _ in messages)))
            if missing:
                # Only the few messages without content need a reference and their file
                # name (a hint; a stale one only costs a scan): none is made for the others.
                names = self._filenames.get(mailbox, {})
                refs = [MessageRef(uid, key) for uid, key in messages if uid in missing]
                self.service.ensure_content(mailbox, refs, names.get)

    async def ensure_content(self, mailbox: str, messages: list[tuple[int, str]]) -> None:
        """Parse and index the messages, (UID, key), a search needs that are not indexed yet.

        One session of the process at a time per folder: the others wait and then find
        the messages indexed, instead of parsing the same ones in parallel.
        """
        await asyncio.to_thread(self._ensure_content, mailbox, messages)

    def _lookup_content(self, mailbox: str, lookup: ContentLookup) -> ContentAnswer:
        kind, column, text = lookup
        if kind == "text":
            return self.service.search_text(mailbox, column, text)
        if kind == "headers":
            return self.service.header_text(mailbox)
        return self.service.sent_dates(mailbox)

    async def search_content(
        self, mailbox: str, messages: list[tuple[int, str]], lookups: list[ContentLookup]
    ) -> list[ContentAnswer]:
        """``ensure_content``, then each lookup, in one thread hop: ``("text", column,
        text)`` gives the UIDs whose column has the text (a set), ``("headers", "", "")``
        the header block by UID and ``("sent", "", "")`` the Date: by UID (dicts)."""

        def run() -> list[ContentAnswer]:
            self._ensure_content(mailbox, messages)
            return [self._lookup_content(mailbox, lookup) for lookup in lookups]

        return await asyncio.to_thread(run)

    async def search_text(self, mailbox: str, column: str, text: str) -> set[int]:
        """UIDs whose indexed ``column`` contains ``text``."""
        return await asyncio.to_thread(self.service.search_text, mailbox, column, text)

    async def header_text(self, mailbox: str) -> dict[int, str]:
        """The indexed header block of each message, by UID."""
        return await asyncio.to_thread(self.service.header_text, mailbox)

    async def sent_dates(self, mailbox: str) -> dict[int, float | None]:
        """The Date: header of each message, by UID."""
        return await asyncio.to_thread(self.service.sent_dates, mailbox)

    async def close(self) -> None:
        """Release the index connection."""
        await asyncio.to_thread(self.service.close)
