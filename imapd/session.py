"""Per-connection state: the protocol state, the user and the selected mailbox snapshot.

Plain data and pure bookkeeping, no I/O. The snapshot is the client's view of the
selected mailbox: messages in UID order, so sequence number n is ``messages[n - 1]``.
``SelectedMailbox.refresh`` folds a newer index state into it and returns the untagged
updates that tell the client what changed, in an order that keeps both views equal.
While a FETCH, STORE or SEARCH runs, expunges are held back (RFC 3501 section 7.4.1):
the vanished messages stay in the snapshot, marked, until a command that may announce
them.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum

from imapd.parsed import NotifyArgs, SearchKey
from imapd.sequences import SequenceSet
from mailrs.store.index import IndexedMessage, MailboxState


class State(Enum):
    """The protocol states of RFC 3501 section 3."""

    NOT_AUTHENTICATED = "not authenticated"
    AUTHENTICATED = "authenticated"
    SELECTED = "selected"
    LOGOUT = "logout"


@dataclass(slots=True)
class MessageView:
    """One message as the client sees it."""

    uid: int
    key: str
    flags: str  # Maildir info letters
    size: int
    internaldate: float
    keywords: str = ""
    modseq: int = 1
    expunged: bool = False  # gone from the mailbox, not yet announced
    zone: int | None = None  # INTERNALDATE's zone in minutes east of UTC (None: UTC)

    @classmethod
    def from_index(cls, message: IndexedMessage) -> MessageView:
        """The view of an indexed message."""
        return cls(
            message.uid,
            message.key,
            message.flags,
            message.size,
            message.internaldate,
            message.keywords,
            message.modseq,
            False,
            message.zone,
        )

    @property
    def keyword_list(self) -> list[str]:
        """The message's keywords."""
        return self.keywords.split()


@dataclass(frozen=True)
class Expunge:
    """``* n EXPUNGE`` (``* VANISHED uid`` once QRESYNC is enabled)."""

    seq: int
    uid: int = 0


@dataclass(frozen=True)
class Exists:
    """``* n EXISTS``."""

    count: int


@dataclass(frozen=True)
class Recent:
    """``* n RECENT``."""

    count: int


@dataclass(frozen=True)
class FlagsChanged:
    """``* n FETCH (UID u FLAGS (...))`` for a flag change made elsewhere."""

    seq: int
    uid: int
    flags: str
    recent: bool
    keywords: str = ""
    modseq: int | None = None


type Update = Expunge | Exists | Recent | FlagsChanged


@dataclass
class SearchContext:
    """A live search (CONTEXT=SEARCH, RFC 5267): its tag, keys and the UIDs it matches;
    for a live SORT (CONTEXT=SORT) also its sort criteria and the UIDs in that order."""

    tag: str
    uid: bool
    criteria: SearchKey
    result: set[int]
    sort: tuple[tuple[str, bool], ...] | None = None
    ordered: list[int] = field(default_factory=list)


@dataclass
class SelectedMailbox:
    """The selected mailbox: its identity and the message snapshot."""

    name: str
    readonly: bool
    uidvalidity: int
    uidnext: int
    messages: list[MessageView]
    recent: set[int] = field(default_factory=set)  # UIDs recent to this session
    highestmodseq: int = 1
    condstore: bool = False  # CONDSTORE enabled: FETCH responses carry MODSEQ
    qresync: bool = False  # QRESYNC enabled: expunges are announced as VANISHED
    no_recent: bool = False  # IMAP4rev2: no \\Recent flag and no RECENT responses
    seen_modseq: int = 0  # the index modseq last folded in
    announced: dict[str, str] = field(default_factory=dict)  # keywords sent in FLAGS
    saved: set[int] = field(default_factory=set)  # UIDs of the SEARCHRES ``$`` result
    contexts: dict[str, SearchContext] = field(default_factory=dict)  # live searches by tag
    held: set[int] = field(default_factory=set)  # UIDs expunged, not yet announced
    _uids: list[int] | None = None  # UIDs in sequence order, rebuilt after a change

    @property
    def uids(self) -> list[int]:
        """The UID of every message, in sequence order (cached until the list changes)."""
        if self._uids is None or len(self._uids) != len(self.messages):
            self._uids = [m.uid for m in self.messages]
        return self._uids

    @classmethod
    def open(cls, state: MailboxState, readonly: bool, recent: Iterable[int]) -> SelectedMailbox:
        """A snapshot of a freshly synchronised mailbox."""
        messages = [MessageView.from_index(m) for m in state.messages]
        return cls(
            state.name,
            readonly,
            state.uidvalidity,
            state.uidnext,
            messages,
            set(recent),
            state.highestmodseq,
            seen_modseq=state.highestmodseq,
        )

    @property
    def exists(self) -> int:
        """The number of messages."""
        return len(self.messages)

    def first_unseen(self) -> int | None:
        """The sequence number of the first message without \\Seen."""
        for seq, message in enumerate(self.messages, start=1):
            if "S" not in message.flags:
                return seq
        return None

    def select(self, sequence: SequenceSet, uid: bool) -> list[int]:
        """Sequence numbers named by a sequence set or UID set; ValueError if out of range."""
        if sequence.saved:  # ``$``: the saved messages still in the snapshot
            return [seq for seq, found in enumerate(self.uids, start=1) if found in self.saved]
        if uid:
            return [index + 1 for index in sequence.match_uids(self.uids)]
        return sequence.message_numbers(len(self.messages))

    def message(self, seq: int) -> MessageView:
        """The message with sequence number ``seq``."""
        return self.messages[seq - 1]

    def seq_of_uid(self, uid: int) -> int | None:
        """The sequence number of a UID, if the message is in the snapshot."""
        uids = self.uids
        index = bisect.bisect_left(uids, uid)
        if index < len(uids) and uids[index] == uid:
            return index + 1
        return None

    def remove_uids(self, uids: Iterable[int]) -> list[Update]:
        """Drop messages this session expunged; EXPUNGE updates in sending order."""
        gone = set(uids)
        updates: list[Update] = []
        seq = 1
        kept = []
        for message in self.messages:
            if message.uid in gone:
                updates.append(Expunge(seq, message.uid))
                self.recent.discard(message.uid)
            else:
                kept.append(message)
                seq += 1
        self.messages = kept
        self.held -= gone
        self._uids = None
        return updates

    def refresh(
        self, state: MailboxState, new_recent: Iterable[int], allow_expunge: bool = True
    ) -> list[Update]:
        """Fold in a newer state; the updates come in the order they must be sent."""
        if state.vanished is not None:
            updates = self._fold_delta(state, state.vanished, new_recent, allow_expunge)
        else:
            updates = self._fold_all(state, new_recent, allow_expunge)
        self.uidnext = max(self.uidnext, state.uidnext)
        self.highestmodseq = max(self.highestmodseq, state.highestmodseq)
        self.seen_modseq = state.highestmodseq
        return updates

    def _fold_all(
        self, state: MailboxState, new_recent: Iterable[int], allow_expunge: bool
    ) -> list[Update]:
        """Fold in every message's state (or the changed ones and the UIDs of all)."""
        updates: list[Update] = []
        self._uids = None
        current = {m.uid: m for m in state.messages}
        present = current.keys() if state.uids is None else set(state.uids)
        if allow_expunge:
            for seq in range(len(self.messages), 0, -1):  # descending keeps numbers valid
                view = self.messages[seq - 1]
                if view.expunged or view.uid not in present:
                    self.recent.discard(view.uid)
                    del self.messages[seq - 1]
                    updates.append(Expunge(seq, view.uid))
            self.held.clear()
        for seq, view in enumerate(self.messages, start=1):
            if view.uid not in present:
                view.expunged = True
                self.held.add(view.uid)
                continue
            latest = current.get(view.uid)
            if latest is not None:  # else unchanged (a delta lists only what changed)
                self._fold_flags(seq, view, latest, updates)
        known = {m.uid for m in self.messages}
        added = [m for m in state.messages if m.uid not in known]
        self._add(added, [uid for uid in new_recent if uid in present], updates)
        return updates

    def _fold_delta(
        self,
        state: MailboxState,
        gone: frozenset[int],
        new_recent: Iterable[int],
        allow_expunge: bool,
    ) -> list[Update]:
        """Fold in the changed messages and the expunged UIDs: work for the changes only."""
        updates: list[Update] = []
        vanished = [uid for uid in gone if self.seq_of_uid(uid) is not None]
        if allow_expunge and (vanished or self.held):
            doomed = {self.seq_of_uid(uid) for uid in (*vanished, *self.held)}
            for seq in sorted((s for s in doomed if s is not None), reverse=True):
                view = self.messages.pop(seq - 1)
                self.recent.discard(view.uid)
                updates.append(Expunge(seq, view.uid))
            self.held.clear()
            self._uids = None
        else:
            for uid in vanished:
                at = self.seq_of_uid(uid)
                if at is not None:
                    self.messages[at - 1].expunged = True
                    self.held.add(uid)
        added: list[IndexedMessage] = []
        for latest in state.messages:
            found = self.seq_of_uid(latest.uid)
            if found is None:
                added.append(latest)
            elif not self.messages[found - 1].expunged:
                self._fold_flags(found, self.messages[found - 1], latest, updates)
        self._add(added, [uid for uid in new_recent if uid not in gone], updates)
        return updates

    def _fold_flags(
        self, seq: int, view: MessageView, latest: IndexedMessage, updates: list[Update]
    ) -> None:
        """Take a message's newer flags; a FETCH update when they differ from the client's."""
        if latest.flags != view.flags or latest.keywords != view.keywords:
            view.flags, view.keywords = latest.flags, latest.keywords
            modseq = latest.modseq if self.condstore else None
            updates.append(
                FlagsChanged(
                    seq, view.uid, view.flags, view.uid in self.recent, view.keywords, modseq
                )
            )
        view.modseq = latest.modseq

    def _add(
        self, added: list[IndexedMessage], new_recent: list[int], updates: list[Update]
    ) -> None:
        """Append new messages (above the last UID shown) and count \\Recent: EXISTS, RECENT."""
        last = self.messages[-1].uid if self.messages else 0
        views = [MessageView.from_index(m) for m in added if m.uid >= last]
        recent_before = len(self.recent)
        if not self.no_recent:
            self.recent.update(new_recent)
        if views:
            self.messages.extend(views)  # the index hands out UIDs in ascending order
            self._uids = None
            updates.append(Exists(len(self.messages)))
        if (views or len(self.recent) != recent_before) and not self.no_recent:
            updates.append(Recent(len(self.recent)))


@dataclass
class NotifyState:
    """What NOTIFY SET asked for (RFC 5465) and what the session last saw of other mailboxes."""

    args: NotifyArgs
    names: set[str]  # every mailbox
    subscribed: set[str]
    counts: dict[str, tuple[int, int, int, int]] = field(default_factory=dict)
    # name -> (MESSAGES, UIDNEXT, UIDVALIDITY, HIGHESTMODSEQ) as last reported
    utf8: bool = False  # names in UTF-8 (UTF8=ACCEPT or IMAP4rev2 enabled)
    validity: dict[str, int] = field(default_factory=dict)
    # name -> UIDVALIDITY, kept with MailboxName: a rename keeps it (OLDNAME)


@dataclass
class Session:
    """The state of one connection."""

    state: State = State.NOT_AUTHENTICATED
    address: str | None = None
    selected: SelectedMailbox | None = None
    tls: bool = False
    condstore: bool = False  # enabled by ENABLE CONDSTORE or a CONDSTORE command
    qresync: bool = False  # enabled by ENABLE QRESYNC (RFC 7162; implies CONDSTORE)
    utf8: bool = False  # UTF-8 mailbox names: ENABLE UTF8=ACCEPT (RFC 6855) or IMAP4rev2
    rev2: bool = False  # ENABLE IMAP4rev2 (RFC 9051): no \\Recent, SEARCH answers ESEARCH
    notify: NotifyState | None = None  # NOTIFY SET (RFC 5465)

    def login(self, address: str) -> None:
        """Enter the authenticated state as ``address``."""
        self.address = address
        self.state = State.AUTHENTICATED

    def select(self, mailbox: SelectedMailbox) -> None:
        """Enter the selected state with ``mailbox``."""
        self.selected = mailbox
        self.state = State.SELECTED

    def deselect(self) -> None:
        """Leave the selected state (a failed SELECT does this too)."""
        self.selected = None
        if self.state is State.SELECTED:
            self.state = State.AUTHENTICATED

    def logout(self) -> None:
        """Enter the logout state; the connection closes after the reply."""
        self.selected = None
        self.state = State.LOGOUT
