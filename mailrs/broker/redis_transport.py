"""One redis-py client per kombu Redis channel instead of one per command.

kombu's Redis channel makes a new ``redis.Redis`` object for every publish and every
ack (``Channel.conn_or_acquire``), and redis-py 6 and later rebuilds its whole
response-callback table (some 170 entries, each key upper-cased again) in every
client's constructor: redis-py issue 3624, fix proposed in redis-py PR 4124, not
released. No version choice avoids it: kombu 5.5+ needs redis-py 6.1 or later, and the
table is built per client there. A ``redis.Redis`` is safe to share between threads
(each command checks out its own connection from the pool), so ``install`` makes the
channel keep one client per connection pool and reuse it; connections, pipelines and
pub/sub objects stay per use exactly as before. It replaces that one method on kombu's
own channel class (rather than naming a transport subclass in ``broker_transport``, which
would show up in every broker URL Celery and Flower print), and is idempotent.
``mailrs.broker.options`` installs it for ``redis://`` brokers. Remove this module once a
redis-py release caches the table.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def _shared_conn_or_acquire(self: Any, client: Any = None) -> Iterator[Any]:
    """The given client, or this channel's shared one (remade if the pool changed)."""
    if client:
        yield client
        return
    pool = self.pool
    shared = getattr(self, "_mailrs_client", None)
    if shared is None or shared.connection_pool is not pool:
        shared = self._mailrs_client = self._create_client()
    yield shared


def install() -> None:
    """Make kombu's Redis channels reuse one client per connection pool (idempotent)."""
    from kombu.transport import redis as kombu_redis

    setattr(kombu_redis.Channel, "conn_or_acquire", _shared_conn_or_acquire)  # noqa: B010


def installed() -> bool:
    """True when kombu's Redis channels share their client."""
    from kombu.transport import redis as kombu_redis

    return kombu_redis.Channel.conn_or_acquire is _shared_conn_or_acquire
