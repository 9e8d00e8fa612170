"""One mailbox-event subscriber per web process, fanning events out to every open chat.

With Redis, one pattern subscription carries every user's events; without it, one
follower of each user's event file (``mailrs.store.events``) serves all of that user's
sockets. A single background thread (a greenlet under gevent) polls them every
``interval`` seconds and hands each event to the listeners of its user without
blocking (each chat has its own queue), so a slow browser delays nobody else.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from mailrs.config import Settings
from mailrs.store.events import Subscription, subscribe, subscribe_all

log = logging.getLogger(__name__)

Listener = Callable[[dict[str, Any]], None]
INTERVAL_SECS = 0.1
HUB_KEY = "mailrs_event_hub"  # the process's hub in ``app.extensions`` (``web.chat``)


class EventHub:
    """Follows the events of the users who have an open chat and fans them out."""

    def __init__(self, settings: Settings, interval: float = INTERVAL_SECS) -> None:
        self._settings = settings
        self._interval = interval
        self._lock = threading.Lock()
        self._listeners: dict[str, list[Listener]] = {}
        self._feeds: dict[str, Subscription] = {}  # per user, without Redis
        self._everyone: Subscription | None = None
        self._uses_redis = settings.celery.broker_url.startswith(("redis://", "rediss://"))
        self._thread: threading.Thread | None = None

    def listen(self, user: str, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` with each new event of ``user``; returns the function that stops."""
        key = user.strip().lower()
        with self._lock:
            self._listeners.setdefault(key, []).append(listener)
            if not self._uses_redis and key not in self._feeds:
                self._feeds[key] = subscribe(self._settings, key)
            if self._uses_redis and self._everyone is None:
                self._everyone = subscribe_all(self._settings)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="mailrs-event-hub", daemon=True
                )
                self._thread.start()

        def stop() -> None:
            self._forget(key, listener)

        return stop

    def listeners(self) -> int:
        """How many listeners are registered (for tests and the benchmark)."""
        with self._lock:
            return sum(len(items) for items in self._listeners.values())

    def _forget(self, key: str, listener: Listener) -> None:
        with self._lock:
            items = self._listeners.get(key, [])
            if listener in items:
                items.remove(listener)
            if not items:
                self._listeners.pop(key, None)
                feed = self._feeds.pop(key, None)
                if feed is not None:
                    feed.close()

    def _dispatch(self, key: str, event: dict[str, Any]) -> None:
        with self._lock:
            targets = list(self._listeners.get(key, ()))
        for listener in targets:
            try:
                listener(event)
            except Exception:  # noqa: BLE001 - one broken chat never stops the others
                log.exception("event listener failed for %s", key)

    def _poll_once(self) -> None:
        if self._uses_redis:
            everyone = self._everyone
            if everyone is None:
                time.sleep(self._interval)
                return
            event = everyone.get(self._interval)
            while event is not None:
                self._dispatch(str(event.get("user", "")).lower(), event)
                event = everyone.get(0)
            return
        with self._lock:
            feeds = list(self._feeds.items())
        for key, feed in feeds:
            while (event := feed.get(0)) is not None:
                self._dispatch(key, event)
        time.sleep(self._interval)

    def _run(self) -> None:
        while True:
            try:
                self._poll_once()
            except Exception as exc:  # noqa: BLE001 - Redis restarts; keep serving
                log.warning("event hub: %s: %s; reconnecting", type(exc).__name__, exc)
                with self._lock:
                    if self._everyone is not None:
                        self._everyone.close()
                        self._everyone = None
                time.sleep(1.0)
                with self._lock:
                    if self._uses_redis:
                        try:
                            self._everyone = subscribe_all(self._settings)
                        except Exception as again:  # noqa: BLE001
                            log.warning("event hub: cannot resubscribe: %s", again)
