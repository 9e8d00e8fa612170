"""The login throttle's counters on the shared Redis store."""

from __future__ import annotations

import dataclasses
import time

import pytest
from support.brokers import redis_test_url

from mailrs.accounts.counters import RedisCounters, counter_store
from mailrs.accounts.throttle import LoginThrottle
from mailrs.config import AuthSettings, CelerySettings, Settings


def _settings(**auth: object) -> Settings:
    return Settings(auth=dataclasses.replace(AuthSettings(), **auth))  # type: ignore[arg-type]


@pytest.mark.redis
def test_redis_counters_are_shared_between_throttles() -> None:
    url = redis_test_url()
    settings = dataclasses.replace(_settings(), celery=CelerySettings(broker_url=url))
    assert isinstance(counter_store(settings), RedisCounters)
    first = LoginThrottle(settings)
    second = LoginThrottle(settings, RedisCounters(url))  # as another process would
    account = f"carol-{time.time_ns()}@example.test"
    for _ in range(5):
        decision = first.begin(account, "203.0.113.5")
        first.failed(account, "203.0.113.5", decision)
    assert second.begin(account, "203.0.113.5").blocked
    assert not second.begin(account, "203.0.113.6").blocked
