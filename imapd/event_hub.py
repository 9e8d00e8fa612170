"""One follower of the mailbox events per imapd process, waking the IDLE sessions it concerns.

A session in IDLE costs no thread: it registers an ``asyncio.Event`` for its user and
awaits it. One thread per process follows the events (``mailrs.store.events``): with
Redis a single pattern subscription carries every user's events; with the file feed
the thread follows one file per user that has a session waiting, opened when the
first one registers and closed when the last one leaves. Each event is handed to the
event loop, which sets the events of that user's waiting sessions. What changed is
still read from the index by each session, so a missed or merged event costs nothing
but a later look.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator

from mailrs.config import Settings
from mailrs.store.events import Subscription, subscribe, subscribe_all

log = logging.getLogger("imapd.events")
WAIT_SECS = 0.25  # the follower's longest sleep: how soon it sees a new user or a stop
FILE_POLL_SECS = 0.05  # like the file feed's own polling
RETRY_SECS = 2.0
OPEN_WAIT_SECS = 2.0


class EventHub:
    """Wakes the sessions of a user on each of that user's events."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._waiters: dict[str, set[asyncio.Event]] = {}  # event loop only
        self._opened: dict[str, asyncio.Event] = {}  # event loop only
        self._lock = threading.Lock()
        self._wanted: set[str] = set()  # users with a waiting session (under the lock)
        self.healthy = False  # the follower is subscribed (sessions may poll less)
        self._all_users = False  # one subscription carries every user's events

    @contextlib.asynccontextmanager
    async def waiting(self, user: str) -> AsyncIterator[asyncio.Event]:
        """An event set whenever ``user`` has an event, until the block ends."""
        key = user.strip().lower()
        self._start()
        wake = asyncio.Event()
        self._waiters.setdefault(key, set()).add(wake)
        opened = self._opened.setdefault(key, asyncio.Event())
        with self._lock:
            self._wanted.add(key)
        try:
            if not self._all_users:  # a file to open first: wait, so no event is missed
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(opened.wait(), OPEN_WAIT_SECS)
            yield wake
        finally:
            waiters = self._waiters.get(key)
            if waiters is not None:
                waiters.discard(wake)
                if not waiters:
                    del self._waiters[key]
                    with self._lock:
                        self._wanted.discard(key)

    def waiting_sessions(self) -> int:
        """How many sessions wait (for tests and logs)."""
        return sum(len(w) for w in self._waiters.values())

    def _start(self) -> None:
        if self._thread is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._thread = threading.Thread(target=self._follow, name="imapd-events", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop the follower thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    # -- the follower thread ------------------------------------------------------------

    def _notify(self, user: str) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._wake, user)

    def _wake(self, user: str) -> None:
        for wake in self._waiters.get(user, ()):
            wake.set()

    def _mark_opened(self, users: list[str]) -> None:
        for user in users:
            opened = self._opened.get(user)
            if opened is not None:
                opened.set()

    def _forget(self, user: str) -> None:
        if user not in self._waiters:
            self._opened.pop(user, None)

    def _follow(self) -> None:
        while not self._stop.is_set():
            try:
                feed = subscribe_all(self._settings)
                if feed is None:
                    self._follow_files()
                else:
                    with feed:
                        self._follow_all(feed)
            except Exception:
                self.healthy = self._all_users = False
                log.warning("event feed failed; sessions poll until it is back", exc_info=True)
                self._stop.wait(RETRY_SECS)

    def _follow_all(self, feed: Subscription) -> None:
        feed.get(0)  # the subscription is made by now
        self.healthy = self._all_users = True
        with self._lock:
            waiting = list(self._wanted)
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._mark_opened, waiting)
        while not self._stop.is_set():
            raw = feed.get(WAIT_SECS)
            if raw is not None and isinstance(raw.get("user"), str):
                self._notify(raw["user"])

    def _follow_files(self) -> None:
        feeds: dict[str, Subscription] = {}
        self.healthy = True
        try:
            while not self._stop.is_set():
                with self._lock:
                    wanted = set(self._wanted)
                for user in list(feeds):
                    if user not in wanted:
                        feeds.pop(user).close()
                        if self._loop is not None:
                            self._loop.call_soon_threadsafe(self._forget, user)
                fresh = [user for user in wanted if user not in feeds]
                for user in fresh:
                    feeds[user] = subscribe(self._settings, user)
                if fresh and self._loop is not None:
                    self._loop.call_soon_threadsafe(self._mark_opened, fresh)
                for user, feed in feeds.items():
                    woke = False
                    while feed.get(0) is not None:
                        woke = True
                    if woke:
                        self._notify(user)
                self._stop.wait(FILE_POLL_SECS if feeds else WAIT_SECS)
        finally:
            for feed in feeds.values():
                feed.close()
