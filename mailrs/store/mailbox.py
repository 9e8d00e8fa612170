"""The mailbox service: the one place that changes a user's mailboxes.

IMAP, the web pages and API, the assistant and delivery all go through
``MailboxService``; nothing else writes a Maildir or the mailbox index. Each change is
applied to the Maildir (the record of bytes and flag letters) and to the index (UIDs,
keywords, MODSEQ) in one step, then announced as a typed event (``mailrs.store.events``),
so a flag set from the web reaches an IMAP session exactly as one set by another IMAP
session: the same UID, flags and MODSEQ, and an untagged FETCH or EXPUNGE.

Flag changes are merged with the flags the file has *now* (``mailrs.store.flags``) and
retried when another process renames the file meanwhile. Messages are named by
``MessageRef`` (UID, key, and the file name last seen, which spares a scan of ``cur/``).
Delivery (``deliver``) only writes the file, under the name the pipeline fixes for
exactly-once delivery: the index gives it a UID at its next sync, which keeps the
pipeline's batches free of index writes; the pipeline publishes the new-mail events.

Every method blocks (file system, SQLite): async callers run them in a thread. One
instance holds one SQLite connection; use it from one thread at a time and close it.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from types import TracebackType

from mailrs.config import Settings
from mailrs.errors import MailboxNotFound, MessageNotFound
from mailrs.inbound.spam.learning import learn_copies
from mailrs.store.events import (
    Expunged,
    FlagsChanged,
    MailboxChanged,
    MailboxEvent,
    NewMail,
    publish_event,
)
from mailrs.store.flags import ADD, REMOVE, merge_keywords, merge_letters
from mailrs.store.fulltext import Content
from mailrs.store.index import MailIndex
from mailrs.store.maildir import MaildirStore, StoredMessage
from mailrs.store.names import INBOX, normalize_mailbox_name
from mailrs.store.records import (
    Appended,
    Copied,
    FlagsStored,
    FlagUpdate,
    IndexedMessage,
    MailboxState,
    MailboxStatus,
    MessageRef,
    SyncResult,
)
from mailrs.store.summaries import MAX_HEADER_BYTES, Summary, summarize

CONTENT_BATCH = 500  # parsed messages written to the full-text index per transaction

__all__ = [
    "Appended",
    "Copied",
    "FlagUpdate",
    "FlagsStored",
    "MailboxService",
    "MessageRef",
    "SyncResult",
]

type ContentParser = Callable[[bytes], Content]
_NONE: Callable[[str], str | None] = dict[str, str]().get  # no file name hints


class MailboxService:
    """Every mailbox of one user: folders, messages, flags, copies, search and quota usage.

    ``source`` names the caller in the events it publishes (``imap``, ``web``...);
    with no ``settings`` no event is published. ``content_parser`` turns a message's
    bytes into what the full-text index keeps; searches need one.
    """

    def __init__(
        self,
        store: MaildirStore,
        address: str,
        settings: Settings | None = None,
        source: str = "",
        content_parser: ContentParser | None = None,
    ) -> None:
        self.store = store
        self.address = address
        self.settings = settings
        self.source = source
        self.content_parser = content_parser
        self._index: MailIndex | None = None

    def __enter__(self) -> MailboxService:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def index(self) -> MailIndex:
        """The user's mailbox index, opened on first use."""
        if self._index is None:
            self._index = MailIndex(self.store, self.address)
        return self._index

    def close(self) -> None:
        """Release the index connection."""
        if self._index is not None:
            self._index.close()
            self._index = None

    def ensure_user(self) -> None:
        """Create the user's Maildir (with the special folders) if it is missing."""
        if not self.store.user_exists(self.address):
            self.store.create_user(self.address)

    def publish(self, event: MailboxEvent) -> None:
        """Announce a change to every subscriber of this user (best effort)."""
        if self.settings is None:
            return
        if not event.source and self.source:
            event = replace(event, source=self.source)
        publish_event(self.settings, self.address, event)

    # -- folders --------------------------------------------------------------------------

    def list_folders(self) -> list[str]:
        """Every mailbox name, INBOX first; MailboxNotFound without a Maildir."""
        return self.store.list_folders(self.address)

    def exists(self, mailbox: str) -> bool:
        """True when the mailbox exists."""
        try:
            self.store.folder_path(self.address, mailbox)
        except MailboxNotFound:
            return False
        return True

    def _create_parents(self, name: str) -> None:
        """Create the missing superior mailboxes of ``name`` (RFC 3501 CREATE and RENAME)."""
        parts = name.split("/")
        existing = set(self.store.list_folders(self.address))
        for depth in range(1, len(parts)):
            parent = "/".join(parts[:depth])
            if parent != INBOX and parent not in existing:
                self.store.create_folder(self.address, parent)

    def create_folder(self, mailbox: str) -> str:
        """Create a mailbox (and any missing parents); returns its canonical name."""
        name = normalize_mailbox_name(mailbox)
        self._create_parents(name)
        created = self.store.create_folder(self.address, name)
        self.publish(MailboxChanged(folder=created, change="created"))
        return created

    def delete_folder(self, mailbox: str) -> None:
        """Delete a mailbox and its messages (never INBOX; children stay)."""
        name = normalize_mailbox_name(mailbox)
        self.store.delete_folder(self.address, name)
        self.index.forget(name)
        self.publish(MailboxChanged(folder=name, change="deleted"))

    def rename_folder(self, old: str, new: str) -> str:
        """Rename a mailbox and its children; renaming INBOX moves its messages instead."""
        old_name, new_name = normalize_mailbox_name(old), normalize_mailbox_name(new)
        self._create_parents(new_name)
        if old_name == INBOX:
            self.index.sync(INBOX)
            self.store.create_folder(self.address, new_name)
            for message in self.store.list_messages(self.address, INBOX):
                with contextlib.suppress(MessageNotFound):
                    self.store.move(self.address, message.key, INBOX, new_name, message.filename)
            self.index.rename(INBOX, new_name)
        else:
            self.store.rename_folder(self.address, old_name, new_name)
            self.index.rename(old_name, new_name)
        self.publish(MailboxChanged(folder=new_name, change="renamed", old_name=old_name))
        return new_name

    def subscribe(self, mailbox: str) -> None:
        """Subscribe to a mailbox."""
        self.index.subscribe(mailbox)

    def unsubscribe(self, mailbox: str) -> bool:
        """Unsubscribe; False if the name was not subscribed."""
        return self.index.unsubscribe(mailbox)

    def subscriptions(self) -> list[str]:
        """Every subscribed name."""
        return self.index.subscriptions()

    # -- the state of a mailbox -----------------------------------------------------------

    def sync(self, mailbox: str, force: bool = False) -> MailboxState:
        """Bring the index of a mailbox in line with its folder and return it (no \\Recent)."""
        return self.index.sync(mailbox, force)

    def messages(self, mailbox: str) -> list[IndexedMessage]:
        """Every message of a mailbox in UID order."""
        return self.index.sync(mailbox).messages

    def message(self, mailbox: str, uid: int) -> IndexedMessage:
        """One message by UID; MessageNotFound when the mailbox has no such UID."""
        for message in self.messages(mailbox):
            if message.uid == uid:
                return message
        raise MessageNotFound(f"no message {uid} in {mailbox!r}")

    def select(self, mailbox: str, claim_recent: bool) -> SyncResult:
        """Synchronise a mailbox for a session; with ``claim_recent`` its \\Recent are its own."""
        return self._claim(self.index.sync(mailbox), claim_recent)

    def changes(
        self, mailbox: str, modseq: int, uidnext: int, claim_recent: bool
    ) -> SyncResult | None:
        """Like ``select``, but None when the mailbox is as the caller last saw it."""
        state = self.index.sync_changes(mailbox, modseq, uidnext)
        return None if state is None else self._claim(state, claim_recent)

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

    def status(self, mailbox: str) -> MailboxStatus:
        """The counters of a mailbox (STATUS)."""
        return self.index.status(mailbox)

    def rebuild_index(self) -> dict[str, int]:
        """Rescan every folder into a fresh index (UIDs kept); the message count of each."""
        return self.index.rebuild(self.list_folders())

    def total_size(self) -> int:
        """Bytes used by every indexed message of the user (quota usage)."""
        return self.index.total_size()

    # -- reading --------------------------------------------------------------------------

    def read(self, mailbox: str, key: str, filename: str | None = None) -> bytes:
        """The bytes of one message; raises MessageNotFound."""
        return self.store.read(self.address, mailbox, key, filename)

    def read_many(self, mailbox: str, items: list[tuple[str, str | None]]) -> list[bytes | None]:
        """The bytes of several (key, file name hint) messages; None for a vanished one."""
        return self.store.read_many(self.address, mailbox, items)

    def read_head(
        self, mailbox: str, key: str, filename: str | None = None, limit: int = MAX_HEADER_BYTES
    ) -> bytes:
        """At most ``limit`` bytes from the start of a message (its header block)."""
        return self.store.read_head(self.address, mailbox, key, limit=limit, filename=filename)

    def read_uid(self, mailbox: str, uid: int) -> bytes:
        """The bytes of the message with this UID; raises MessageNotFound."""
        message = self.message(mailbox, uid)
        return self.read(normalize_mailbox_name(mailbox), message.key, message.filename)

    def summary(self, mailbox: str, message: IndexedMessage) -> Summary:
        """Subject, sender, date and Message-ID of a message, from its header block only."""
        return summarize(self.read_head(mailbox, message.key, message.filename))

    # -- adding messages ------------------------------------------------------------------

    def append(
        self,
        mailbox: str,
        data: bytes,
        letters: str = "",
        keywords: str = "",
        date: float | None = None,
        zone: int | None = None,
    ) -> Appended:
        """Store a new message and index it at once. ``zone``: the date's, in minutes."""
        name = normalize_mailbox_name(mailbox)
        stored = self.store.deliver(
            self.address,
            data,
            name,
            flags=letters,
            mtime=date if date is not None else time.time(),
        )
        uidvalidity, uid = self.index.add(name, stored, keywords, zone)
        self.publish(NewMail(folder=name, uids=(uid,)))
        return Appended(uidvalidity, uid, stored.filename)

    def deliver(
        self,
        data: bytes,
        mailbox: str = INBOX,
        key: str | None = None,
        mtime: float | None = None,
        check_existing: bool = False,
        flags: str = "",
        unsynced: list[Path] | None = None,
    ) -> StoredMessage:
        """Write a delivered message under ``key`` (tmp, fsync, new/ or with ``flags`` cur/).

        A repeated delivery with the same ``key`` finds the first copy (``check_existing``:
        in cur/ too); a missing Maildir is created; ``unsynced``: see ``MaildirStore.deliver``.
        The index picks the file up at its next sync; the caller publishes ``NewMail``."""

        args = (self.address, data, mailbox, flags, key, mtime, check_existing, unsynced)
        try:
            return self.store.deliver(*args)
        except MailboxNotFound:
            self.store.create_user(self.address)  # a vanished Maildir (or Junk) comes back
            return self.store.deliver(*args)

    # -- flags ----------------------------------------------------------------------------

    def _change_flags(self, mailbox: str, update: FlagUpdate) -> FlagsStored:
        """One flag change applied to the file as it is now, then recorded in the index."""
        ref = update.ref
        hint = ref.filename
        for _ in range(3):
            current = self.store.get(self.address, mailbox, ref.key, hint)
            target = merge_letters(update.mode, current.flags, update.letters)
            if update.remove:
                target = merge_letters(REMOVE, target, update.remove)
            try:
                stored = self.store.set_flags(
                    self.address, mailbox, ref.key, target, current.filename
                )
            except MessageNotFound:
                hint = None  # renamed meanwhile by someone else: look again
                continue
            modseq, merged = self.index.set_flags(
                mailbox, ref.uid, stored.filename, stored.flags, update.keywords, update.mode
            )
            return FlagsStored(ref.uid, stored.flags, merged, modseq, stored.filename)
        raise MessageNotFound(f"message {ref.key!r} keeps moving")

    def store_flags(self, mailbox: str, updates: Sequence[FlagUpdate]) -> list[FlagsStored]:
        """Apply flag changes to each message's current flags; the vanished are left out."""
        name = normalize_mailbox_name(mailbox)
        results = []
        for update in updates:
            try:
                results.append(self._change_flags(name, update))
            except MessageNotFound:
                continue
        if results:
            modseqs = [r.modseq for r in results if r.modseq is not None]
            self.publish(
                FlagsChanged(
                    folder=name,
                    uids=tuple(dict.fromkeys(r.uid for r in results)),
                    modseq=max(modseqs) if modseqs else None,
                )
            )
        return results

    def set_flags(
        self, mailbox: str, uid: int, add: str = "", remove: str = "", keywords: str = ""
    ) -> FlagsStored:
        """Add and remove flag letters (and add keywords) of one message by UID.

        Nothing is written when the message has them already. Raises MessageNotFound.
        """
        name = normalize_mailbox_name(mailbox)
        message = self.message(name, uid)
        ref = MessageRef.of(message)
        after = merge_letters(REMOVE, merge_letters(ADD, message.flags, add), remove)
        kept = merge_keywords(ADD, message.keywords, keywords)
        if after == message.flags and kept == message.keywords:
            return FlagsStored(uid, message.flags, message.keywords, None, message.filename)
        results = self.store_flags(name, [FlagUpdate(ref, ADD, add, keywords, remove)])
        if not results:
            raise MessageNotFound(f"no message {uid} in {name!r}")
        return results[0]

    # -- copies, moves and expunges -------------------------------------------------------

    def copy(
        self, source: str, refs: Iterable[MessageRef], destination: str, move: bool = False
    ) -> Copied:
        """Copy (or move) messages with their flags, keywords and dates; new UIDs in order."""
        source, destination = normalize_mailbox_name(source), normalize_mailbox_name(destination)
        pairs: list[tuple[int, int]] = []
        uidvalidity = self.index.status(destination).uidvalidity
        moved: list[int] = []
        # MOVE into the mailbox itself is a copy (a new UID, RFC 6851 3.3) and an expunge
        to_self = source == destination
        store, address = self.store, self.address
        copied: list[tuple[str, str]] = []  # (key, file name): Junk moves teach the classifier
        for ref in refs:
            try:
                if move and not to_self:
                    stored = store.move(address, ref.key, source, destination, ref.filename)
                    moved.append(ref.uid)
                else:
                    stored = store.copy(address, ref.key, source, destination, ref.filename)
                    if move:
                        store.delete(address, source, ref.key, ref.filename)
                        moved.append(ref.uid)
            except MessageNotFound:
                continue
            uidvalidity, uid = self.index.add(destination, stored, ref.keywords, ref.zone)
            pairs.append((ref.uid, uid))
            copied.append((stored.key, stored.filename))
        modseq = self.index.remove(source, moved) if moved else None
        learn_copies(self.settings, store, address, source, destination, copied)
        if pairs:
            self.publish(NewMail(folder=destination, uids=tuple(p[1] for p in pairs)))
        if moved:
            self.publish(Expunged(folder=source, uids=tuple(moved), modseq=modseq))
        return Copied(uidvalidity, pairs)

    def move(self, source: str, uids: Iterable[int], destination: str) -> Copied:
        """Move messages by UID to another mailbox (MOVE); unknown UIDs are left out."""
        wanted = set(uids)
        refs = [MessageRef.of(m) for m in self.messages(source) if m.uid in wanted]
        return self.copy(source, refs, destination, move=True)

    def expunge(self, mailbox: str, refs: Iterable[MessageRef]) -> list[int]:
        """Delete messages for good; returns their UIDs."""
        name = normalize_mailbox_name(mailbox)
        removed = []
        for ref in refs:
            with contextlib.suppress(MessageNotFound):
                self.store.delete(self.address, name, ref.key, ref.filename)
            removed.append(ref.uid)
        if removed:
            modseq = self.index.remove(name, removed)
            self.publish(Expunged(folder=name, uids=tuple(removed), modseq=modseq))
        return removed

    def expunge_uids(self, mailbox: str, uids: Iterable[int]) -> list[int]:
        """Delete messages by UID for good, \\Deleted or not; returns those that were there."""
        wanted = set(uids)
        refs = [MessageRef.of(m) for m in self.messages(mailbox) if m.uid in wanted]
        return self.expunge(mailbox, refs) if refs else []

    # -- searching ------------------------------------------------------------------------

    def ensure_content(
        self, mailbox: str, refs: Iterable[MessageRef], hint: Callable[[str], str | None] = _NONE
    ) -> None:
        """Parse and index what a search needs that is not yet (``hint``: key -> file name)."""
        if self.content_parser is None:
            raise RuntimeError("this mailbox service was opened without a content parser")
        name = normalize_mailbox_name(mailbox)
        by_uid = {ref.uid: ref for ref in refs}
        batch: list[tuple[int, Content]] = []
        for uid in self.index.without_content(name, by_uid):
            ref = by_uid[uid]
            try:
                data = self.store.read(self.address, name, ref.key, hint(ref.key) or ref.filename)
            except MessageNotFound:
                continue
            batch.append((uid, self.content_parser(data)))
            if len(batch) >= CONTENT_BATCH:
                self.index.add_content(name, batch)
                batch = []
        if batch:
            self.index.add_content(name, batch)

    def search_text(self, mailbox: str, column: str, text: str) -> set[int]:
        """UIDs whose indexed ``column`` (``mailrs.store.fulltext.FTS_COLUMNS``) has ``text``."""
        return self.index.search_text(mailbox, column, text)

    def header_text(self, mailbox: str) -> dict[int, str]:
        """The indexed header block of each message, by UID."""
        return self.index.header_text(mailbox)

    def sent_dates(self, mailbox: str) -> dict[int, float | None]:
        """The Date: header of each indexed message, by UID."""
        return self.index.sent_dates(mailbox)
