"""kombu's Redis transport with one redis-py client per channel instead of one per command.

kombu's Redis channel makes a new ``redis.Redis`` object for every publish and every
ack (``Channel.conn_or_acquire``), and redis-py 6 and later rebuilds its whole
response-callback table (some 170 entries, each key upper-cased again) in every
client's constructor: redis-py issue 3624, fix proposed in redis-py PR 4124, not
released. No version choice avoids it: kombu 5.5+ needs redis-py 6.1 or later, and the
table is built per client there. A ``redis.Redis`` is safe to share between threads
(each command checks out its own connection from the pool), so this channel keeps one
client per connection pool and reuses it; connections, pipelines and pub/sub objects
stay per use exactly as before. Selected for ``redis://`` and ``rediss://`` brokers by
``mailrs.broker`` through Celery's ``broker_transport`` setting. Drop this module once
a redis-py release caches the table (then kombu's own transport is as fast).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from kombu.transport import redis as kombu_redis


class Channel(kombu_redis.Channel):  # type: ignore[misc]
    """A Redis channel that reuses one client for the commands it runs."""

    _shared_client: Any = None

    @contextmanager
    def conn_or_acquire(self, client: Any = None) -> Iterator[Any]:
        """The given client, or this channel's shared one (remade if the pool changed)."""
        if client:
            yield client
            return
        pool = self.pool
        shared = self._shared_client
        if shared is None or shared.connection_pool is not pool:
            shared = self._shared_client = self._create_client()
        yield shared


class Transport(kombu_redis.Transport):  # type: ignore[misc]
    """kombu's Redis transport with the channel above."""

    Channel = Channel
