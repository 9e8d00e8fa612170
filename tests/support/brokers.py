"""Broker choices for tests that must pass on the embedded broker and on Redis."""

from __future__ import annotations

import os

import pytest

from support.services import REDIS_URL, require_service

# Parallel checkouts on one machine each set their own database number.
REDIS_TEST_DB = int(os.environ.get("MAILRS_TEST_REDIS_DB", "11"))


def redis_test_url() -> str:
    """A Redis URL on a database this test run owns, flushed first."""
    require_service("Redis", "127.0.0.1", 6379)
    import redis

    base = REDIS_URL.rsplit("/", 1)[0]
    url = f"{base}/{REDIS_TEST_DB}"
    client = redis.Redis.from_url(url)
    client.flushdb()
    client.close()
    return url


BROKERS = ["embedded", pytest.param("redis", marks=pytest.mark.redis)]


def broker_url_for(kind: str) -> str:
    """'' for the embedded broker, a flushed Redis database for 'redis'."""
    return redis_test_url() if kind == "redis" else ""
