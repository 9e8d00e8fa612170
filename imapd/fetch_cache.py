"""What FETCH derives from a message's bytes, remembered per process (as Dovecot's cache file).

A Maildir message's bytes never change under its key (a flag change renames the file,
it does not rewrite it), so its header block, ENVELOPE, BODY and BODYSTRUCTURE can be
kept once computed: clients ask for them again and again (imaptest's FETCH does, on
the same messages, from every session). A FETCH that asks only for those and for what
the index holds (FLAGS, UID, sizes, dates, MODSEQ) then opens no file at all, and a
small message (up to ``RAW_MAX``) is kept whole, so any FETCH of it reads no file
(no thread hop: imaptest's FETCH2 asks for BODY[], BODY[1], BODY[TEXT] of one message).

Entries are keyed by (account, mailbox, message key) and carry the message's size,
checked on each lookup. Flags are never cached: they come from the index. An expunge
or a MOVE through this process drops the entries of the messages it removed; one
removed by another process is no longer asked for and ages out. The cache is bounded
in bytes (least recently used first) and is used on the event loop only (no lock).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from imapd.bodystructure import body_structure
from imapd.envelope import envelope
from imapd.responses import encode
from mailrs.store.mime import Part, parse, split_header

MAX_BYTES = 16 * 1024 * 1024
RAW_MAX = 32 * 1024  # messages up to this size are kept whole: BODY[] of them needs no read
ENTRY_OVERHEAD = 300  # the key, the entry object and the dict slot, roughly

type CacheKey = tuple[str, str, str]


@dataclass(slots=True)
class Derived:
    """What has been computed so far for one message (None: not yet)."""

    size: int
    header: bytes | None = None
    envelope: bytes | None = None
    body: bytes | None = None
    bodystructure: bytes | None = None
    raw: bytes | None = None  # the whole message, when small

    def weight(self) -> int:
        """Bytes this entry holds, roughly."""
        values = (self.header, self.envelope, self.body, self.bodystructure, self.raw)
        return ENTRY_OVERHEAD + sum(len(v) for v in values if v)


class FetchCache:
    """A bounded LRU of ``Derived`` per message; event-loop only."""

    def __init__(self, max_bytes: int = MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self.used = 0
        self._entries: OrderedDict[CacheKey, Derived] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: CacheKey, size: int) -> Derived | None:
        """The entry of a message of this size, or None."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.size != size:  # not the bytes it was computed from
            self._remove(key)
            return None
        self._entries.move_to_end(key)
        return entry

    def put(self, key: CacheKey, entry: Derived) -> None:
        """Remember (or replace) an entry, evicting the least recently used beyond the bound."""
        self._remove(key)
        self._entries[key] = entry
        self.used += entry.weight()
        self._trim()

    def grew(self, key: CacheKey, before: int) -> None:
        """Account for an entry that gained a value (``before``: its weight until then)."""
        entry = self._entries.get(key)
        if entry is not None:
            self.used += entry.weight() - before
            self._trim()

    def drop(self, account: str, mailbox: str, keys: list[str]) -> None:
        """Forget these messages of a mailbox (expunged, or moved away)."""
        for key in keys:
            self._remove((account, mailbox, key))

    def _remove(self, key: CacheKey) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self.used -= entry.weight()

    def _trim(self) -> None:
        while self.used > self.max_bytes and self._entries:
            _, entry = self._entries.popitem(last=False)
            self.used -= entry.weight()


class MessageSource:
    """One message as FETCH reads it: cached values first, its bytes parsed at most once."""

    def __init__(
        self, cache: FetchCache, key: CacheKey, size: int, raw: bytes | None, entry: Derived | None
    ) -> None:
        self.cache = cache
        self.key = key
        self.raw = raw
        self._root: Part | None = None
        if entry is None and raw is not None:
            entry = Derived(size)
            cache.put(key, entry)
        if entry is None:
            raise ValueError("a message source needs its bytes or a cached entry")
        if raw is None:
            self.raw = entry.raw
        elif entry.raw is None and len(raw) <= RAW_MAX:
            before = entry.weight()
            entry.raw = raw
            cache.grew(key, before)
        self.entry = entry

    def root(self) -> Part:
        """The MIME tree (parses the bytes the first time; needs them)."""
        if self._root is None:
            if self.raw is None:
                raise ValueError("the message's bytes were not read")
            self._root = parse(self.raw)
        return self._root

    def header(self) -> bytes:
        """The top-level header block, with its ending empty line."""
        if self.entry.header is None:
            before = self.entry.weight()
            if self._root is not None:
                self.entry.header = self._root.header
            elif self.raw is not None:
                self.entry.header = split_header(self.raw)[0]
            else:
                raise ValueError("the message's bytes were not read")
            self.cache.grew(self.key, before)
        return self.entry.header

    def envelope(self) -> bytes:
        """ENVELOPE, encoded."""
        if self.entry.envelope is None:
            before = self.entry.weight()
            self.entry.envelope = encode(envelope(self.root().fields))
            self.cache.grew(self.key, before)
        return self.entry.envelope

    def structure(self, extended: bool) -> bytes:
        """BODYSTRUCTURE (``extended``) or BODY, encoded."""
        value = self.entry.bodystructure if extended else self.entry.body
        if value is None:
            before = self.entry.weight()
            value = body_structure(self.root(), extended=extended)
            if extended:
                self.entry.bodystructure = value
            else:
                self.entry.body = value
            self.cache.grew(self.key, before)
        return value
