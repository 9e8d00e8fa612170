"""RCPT lookups remembered for a few seconds, per smtpd process.

Every RCPT resolves its address (domain, account, aliases, quota) in the database, in a
thread; under load the same few addresses come again and again. Only *known* local
recipients without a quota to check are remembered, for ``TTL_SECS``: an account deleted
or disabled is still accepted at RCPT for at most that long by each smtpd process, and
its mail then bounces at the pipeline's route step, which resolves the address again
(nothing is delivered to it); a quota set on an account applies at RCPT and DATA within
that time too (delivery applies it at once). Unknown addresses, relay decisions,
recipients with a quota (their answer depends on the mailbox's usage, which every
delivery changes) and lookup failures are never remembered, so a new account or alias
receives mail at once. Sessions that miss the same address at the same moment (the 20
sessions of a busy sender, when its entry has just expired) share one lookup. Used
from the event loop only (no lock).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from typing import Any

from smtpd.recipients import RecipientFacts

TTL_SECS = 5.0
MAX_ENTRIES = 4096


class RecipientCache:
    """Known recipients' facts by (lower-cased address, authenticated), for ``ttl`` seconds."""

    def __init__(self, ttl: float = TTL_SECS, max_entries: int = MAX_ENTRIES) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[tuple[str, bool], tuple[float, RecipientFacts]] = {}
        self._pending: dict[tuple[str, bool], asyncio.Future[RecipientFacts]] = {}

    async def lookup(
        self,
        address: str,
        authenticated: bool,
        fetch: Callable[[], Coroutine[Any, Any, RecipientFacts]],
    ) -> RecipientFacts:
        """The remembered facts, or ``fetch()``'s (one call for concurrent misses).

        The lookup runs as its own task: a session that goes away while waiting for it
        cancels only its own wait.
        """
        facts = self.get(address, authenticated)
        if facts is not None:
            return facts
        key = (address.lower(), authenticated)
        task = self._pending.get(key)
        if task is None:
            task = self._pending[key] = asyncio.ensure_future(fetch())
            task.add_done_callback(lambda done: self._looked_up(key, address, done))
        return await asyncio.shield(task)

    def _looked_up(
        self, key: tuple[str, bool], address: str, task: asyncio.Future[RecipientFacts]
    ) -> None:
        del self._pending[key]
        if not task.cancelled() and task.exception() is None:
            self.put(address, task.result())

    def get(self, address: str, authenticated: bool) -> RecipientFacts | None:
        """The remembered facts, or None when absent or older than the TTL."""
        key = (address.lower(), authenticated)
        entry = self._entries.get(key)
        if entry is None:
            return None
        if time.monotonic() >= entry[0]:
            del self._entries[key]
            return None
        return entry[1]

    def put(self, address: str, facts: RecipientFacts) -> None:
        """Remember the facts of a known local recipient without a quota (others are ignored)."""
        if self.ttl <= 0 or not (facts.local_domain and facts.known and facts.unlimited):
            return
        if len(self._entries) >= self.max_entries:
            self._drop_expired()
            if len(self._entries) >= self.max_entries:  # still full: forget the oldest
                del self._entries[next(iter(self._entries))]
        key = (address.lower(), facts.authenticated)
        self._entries.pop(key, None)  # re-inserted last: insertion order is age order
        self._entries[key] = (time.monotonic() + self.ttl, facts)

    def _drop_expired(self) -> None:
        now = time.monotonic()
        for key in [k for k, (expires, _) in self._entries.items() if now >= expires]:
            del self._entries[key]
