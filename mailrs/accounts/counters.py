"""Shared fixed-window counters for the login throttle: the database, or Redis when configured.

Every increment is one atomic statement that returns the new count (``INSERT … ON
CONFLICT DO UPDATE … RETURNING`` on SQLite and PostgreSQL, a Lua script on Redis), so
parallel attempts can never read the same count: the N-th attempt sees N. Calls block
(SQL or network): async callers run them in a thread.
"""

from __future__ import annotations

import random
import threading
import time
from typing import Any, Protocol

from sqlalchemy import event, text

from mailrs.config import Settings
from mailrs.db.engine import Database

CLEANUP_CHANCE = 0.01  # one increment in a hundred also deletes expired rows


class CounterStore(Protocol):
    """Counters that expire ``window`` seconds after their first increment."""

    def incr(self, key: str, window: int) -> tuple[int, float]:
        """Add one; the new count and the seconds until the window resets."""
        ...

    def decr(self, key: str) -> None:
        """Take one back (never below zero)."""
        ...

    def peek(self, key: str) -> int:
        """The current count (0 when absent or expired)."""
        ...

    def clear(self, key: str) -> None:
        """Forget the counter."""
        ...


_INCR_SQL = text(
    "INSERT INTO auth_counters (key, count, expires_at) VALUES (:key, 1, :expires) "
    "ON CONFLICT (key) DO UPDATE SET "
    "count = CASE WHEN auth_counters.expires_at <= :now THEN 1 "
    "ELSE auth_counters.count + 1 END, "
    "expires_at = CASE WHEN auth_counters.expires_at <= :now THEN :expires "
    "ELSE auth_counters.expires_at END "
    "RETURNING count, expires_at"
)

_CLEANUP_SQL = text("DELETE FROM auth_counters WHERE expires_at <= :now")


class DatabaseCounters:
    """Counters in the ``auth_counters`` table of the central database.

    On SQLite the counters' own connections commit with ``synchronous=NORMAL``: a
    counter need not survive a power cut, and a login should not wait for fsyncs.
    """

    def __init__(self, database: Database) -> None:
        self.database = database
        if database.engine.dialect.name == "sqlite":
            event.listen(database.engine, "connect", _relaxed_sync)

    def incr(self, key: str, window: int) -> tuple[int, float]:
        """Add one atomically and return the new count and seconds to reset."""
        now = time.time()
        with self.database.engine.begin() as conn:
            row = conn.execute(_INCR_SQL, {"key": key, "now": now, "expires": now + window}).one()
            if random.random() < CLEANUP_CHANCE:
                conn.execute(
                    text("DELETE FROM auth_counters WHERE expires_at <= :now"), {"now": now}
                )
        return int(row[0]), max(0.0, float(row[1]) - now)

    def decr(self, key: str) -> None:
        """Take one back, never below zero."""
        with self.database.engine.begin() as conn:
            conn.execute(
                text("UPDATE auth_counters SET count = count - 1 WHERE key = :key AND count > 0"),
                {"key": key},
            )

    def peek(self, key: str) -> int:
        """The live count of ``key``."""
        with self.database.engine.connect() as conn:
            value = conn.execute(
                text("SELECT count FROM auth_counters WHERE key = :key AND expires_at > :now"),
                {"key": key, "now": time.time()},
            ).scalar()
        return int(value or 0)

    def clear(self, key: str) -> None:
        """Delete the counter."""
        with self.database.engine.begin() as conn:
            conn.execute(text("DELETE FROM auth_counters WHERE key = :key"), {"key": key})


def _relaxed_sync(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


_REDIS_INCR = """
local n = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {n, ttl}
"""
_REDIS_DECR = """
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n > 0 then redis.call('DECR', KEYS[1]) end
return 0
"""


class RedisCounters:
    """Counters in Redis (``mailrs:auth:`` keys), shared by every machine of the site."""

    PREFIX = "mailrs:auth:"

    def __init__(self, url: str) -> None:
        import redis

        self._client: Any = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
        self._incr = self._client.register_script(_REDIS_INCR)
        self._decr = self._client.register_script(_REDIS_DECR)

    def incr(self, key: str, window: int) -> tuple[int, float]:
        """Add one atomically and return the new count and seconds to reset."""
        count, ttl_ms = self._incr(keys=[self.PREFIX + key], args=[window * 1000])
        return int(count), max(0.0, int(ttl_ms) / 1000)

    def decr(self, key: str) -> None:
        """Take one back, never below zero."""
        self._decr(keys=[self.PREFIX + key])

    def peek(self, key: str) -> int:
        """The live count of ``key``."""
        return int(self._client.get(self.PREFIX + key) or 0)

    def clear(self, key: str) -> None:
        """Delete the counter."""
        self._client.delete(self.PREFIX + key)


_stores: dict[str, CounterStore] = {}
_stores_lock = threading.Lock()


def counter_store(settings: Settings) -> CounterStore:
    """This installation's shared store: Redis when the broker is Redis, else the database."""
    url = settings.celery.broker_url
    use_redis = url.startswith(("redis://", "rediss://"))
    key = url if use_redis else settings.database_url
    with _stores_lock:
        store = _stores.get(key)
        if store is None:
            store = RedisCounters(url) if use_redis else DatabaseCounters(Database(key))
            _stores[key] = store
        return store
