"""Broker choices for tests that must pass on the embedded broker and on Redis."""

from __future__ import annotations

import os

import pytest

from support.services import REDIS_URL, require_service

# Parallel checkouts on one machine each set their own base database number; each
# pytest-xdist worker adds its index to it (gw0 -> base, gw1 -> base + 1, ...).
REDIS_BASE_DB = int(os.environ.get("MAILRS_TEST_REDIS_DB", "11"))
REDIS_DATABASES = 16  # Redis's default ``databases``: numbers 0..15


def worker_redis_db(base: int, worker: str) -> int:
    """The Redis database of an xdist worker (``gw2`` -> base + 2; '' outside xdist -> base)."""
    index = int(worker.removeprefix("gw")) if worker else 0
    db = base + index
    if not 0 <= db < REDIS_DATABASES:
        raise ValueError(
            f"Redis database {db} (MAILRS_TEST_REDIS_DB={base} + worker {worker or 'gw0'})"
            f" is outside 0..{REDIS_DATABASES - 1}: lower MAILRS_TEST_REDIS_DB or -n"
        )
    return db


def redis_test_url() -> str:
    """A Redis URL on a database this test run owns, flushed first."""
    require_service("Redis", "127.0.0.1", 6379)
    import redis

    base = REDIS_URL.rsplit("/", 1)[0]
    url = f"{base}/{worker_redis_db(REDIS_BASE_DB, os.environ.get('PYTEST_XDIST_WORKER', ''))}"
    client = redis.Redis.from_url(url)
    client.flushdb()
    client.close()
    return url


BROKERS = ["embedded", pytest.param("redis", marks=pytest.mark.redis)]


def broker_url_for(kind: str) -> str:
    """'' for the embedded broker, a flushed Redis database for 'redis'."""
    return redis_test_url() if kind == "redis" else ""
