"""The storage side of the server: accounts, folders and messages through ``mailrs``.

Every call into the core blocks (Argon2, SQLite, the file system), so each one runs
in a worker thread; the event loop only awaits. ``UserMail`` is opened at LOGIN and
holds that user's mailbox index for the life of the connection, and the file name of
each message as last synchronised, so reads and flag changes go straight to the file
instead of scanning the folder (the store falls back to a scan when a name is stale).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace

from mailrs.db import Database
from mailrs.errors import MessageNotFound
from mailrs.maildir import MaildirStore
from mailrs.mailindex import MailboxState, MailIndex
from mailrs.users import authenticate


@dataclass(frozen=True)
class SyncResult:
    """A synchronised mailbox and the UIDs of the messages that were still in new/."""

    state: MailboxState
    recent: frozenset[int]


class Backend:
    """The shared services of the server process: the database and the Maildir store."""

    def __init__(self, database: Database, store: MaildirStore) -> None:
        self.database = database
        self.store = store

    def _authenticate(self, username: str, password: str) -> str:
        with self.database.session() as session:
            return authenticate(session, username, password).address

    async def authenticate(self, username: str, password: str) -> str:
        """The account address if the password is right; raises AuthFailed."""
        return await asyncio.to_thread(self._authenticate, username, password)

    def open_user(self, address: str) -> UserMail:
        """The mail of one logged-in user."""
        return UserMail(self.store, address)


class UserMail:
    """One user's mailboxes: listing, synchronising, reading and flagging."""

    def __init__(self, store: MaildirStore, address: str) -> None:
        self.store = store
        self.address = address
        self.index = MailIndex(store, address)
        # mailbox -> key -> file name; used and changed on the event loop only
        self._filenames: dict[str, dict[str, str]] = {}

    def filename_of(self, mailbox: str, key: str) -> str | None:
        """The file name of a message as last seen, or None if not known."""
        return self._filenames.get(mailbox, {}).get(key)

    async def list_mailboxes(self) -> list[str]:
        """Every mailbox name, INBOX first."""
        return await asyncio.to_thread(self.store.list_folders, self.address)

    def _sync(self, mailbox: str, claim_recent: bool) -> SyncResult:
        state = self.index.sync(mailbox)
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
        return SyncResult(state, frozenset(m.uid for m in fresh))

    async def sync(self, mailbox: str, claim_recent: bool) -> SyncResult:
        """Synchronise a mailbox; with ``claim_recent`` its new/ messages move to cur/."""
        result = await asyncio.to_thread(self._sync, mailbox, claim_recent)
        messages = result.state.messages
        self._filenames[result.state.name] = {m.key: m.filename for m in messages}
        return result

    async def read(self, mailbox: str, key: str) -> bytes:
        """The bytes of one message; raises MessageNotFound."""
        hint = self.filename_of(mailbox, key)
        return await asyncio.to_thread(self.store.read, self.address, mailbox, key, hint)

    async def set_flags(self, mailbox: str, key: str, letters: str) -> str:
        """Replace a message's flags; returns the flags as stored."""
        hint = self.filename_of(mailbox, key)
        stored = await asyncio.to_thread(
            self.store.set_flags, self.address, mailbox, key, letters, hint
        )
        if mailbox in self._filenames:
            self._filenames[mailbox][key] = stored.filename
        return stored.flags

    async def close(self) -> None:
        """Release the index connection."""
        await asyncio.to_thread(self.index.close)
