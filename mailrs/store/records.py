"""What the mailbox index and service report and take: messages, snapshots, counters, results."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class IndexedMessage:
    """A message as the index knows it: UID, key, current file name and flags."""

    uid: int
    key: str
    filename: str
    flags: str
    size: int
    internaldate: float
    modseq: int
    keywords: str = ""  # space-separated IMAP keywords
    zone: int | None = None  # INTERNALDATE's zone (minutes east of UTC) when APPEND gave one

    @property
    def relpath(self) -> str:
        """Path relative to the folder directory."""
        return ("cur/" if ":2," in self.filename else "new/") + self.filename


@dataclass(frozen=True)
class MailboxState:
    """A synchronised snapshot of one mailbox."""

    name: str
    uidvalidity: int
    uidnext: int
    highestmodseq: int
    messages: list[IndexedMessage]
    # Both None: ``messages`` is the whole mailbox. Otherwise ``messages`` holds only
    # what changed since a given modseq, and either ``uids`` lists every message now
    # there or ``vanished`` the UIDs expunged since that modseq.
    uids: list[int] | None = None
    vanished: frozenset[int] | None = None

    @property
    def is_delta(self) -> bool:
        """True when ``messages`` holds only the changes (see ``uids`` and ``vanished``)."""
        return self.uids is not None or self.vanished is not None


@dataclass(frozen=True)
class MailboxStatus:
    """The counters of a mailbox, without its message list."""

    name: str
    uidvalidity: int
    uidnext: int
    highestmodseq: int
    messages: int
    unseen: int
    recent: int
    size: int
    deleted: int = 0  # messages flagged \\Deleted (IMAP4rev2's STATUS DELETED)


@dataclass(frozen=True)
class MessageRef:
    """Enough to find one message of a mailbox: UID, key, flags and the file name last seen."""

    uid: int
    key: str
    flags: str = ""
    keywords: str = ""
    zone: int | None = None  # INTERNALDATE's zone, carried to copies
    filename: str | None = None  # a hint: tried first, a scan finds the file if stale

    @classmethod
    def of(cls, message: IndexedMessage) -> MessageRef:
        """The reference of an indexed message."""
        return cls(
            message.uid,
            message.key,
            message.flags,
            message.keywords,
            message.zone,
            message.filename,
        )


@dataclass(frozen=True)
class FlagUpdate:
    """One flag change: ``mode`` ``+`` (add), ``-`` (remove) or "" (replace)."""

    ref: MessageRef
    mode: str
    letters: str = ""
    keywords: str = ""
    remove: str = ""  # letters taken away after ``mode`` applied (add and remove in one)


@dataclass(frozen=True)
class FlagsStored:
    """A message's flags after a change, as stored; ``modseq`` None if it vanished meanwhile."""

    uid: int
    letters: str
    keywords: str
    modseq: int | None
    filename: str


@dataclass(frozen=True)
class SyncResult:
    """A synchronised mailbox and the UIDs that are \\Recent for the caller."""

    state: MailboxState
    recent: frozenset[int]


@dataclass(frozen=True)
class Appended:
    """Where APPEND put a message."""

    uidvalidity: int
    uid: int
    filename: str


@dataclass(frozen=True)
class Copied:
    """The destination's UIDVALIDITY and each (source UID, new UID) copied or moved."""

    uidvalidity: int
    pairs: list[tuple[int, int]]
