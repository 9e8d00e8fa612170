"""The login throttle on the shared Redis storage."""

from __future__ import annotations

import dataclasses

import pytest
from limits.storage import MemoryStorage, storage_from_string
from support.brokers import redis_test_url

from mailrs.accounts.throttle import LoginThrottle, limit_storage
from mailrs.config import AuthSettings, CelerySettings, Settings


def _settings(**auth: object) -> Settings:
    return Settings(auth=dataclasses.replace(AuthSettings(), **auth))  # type: ignore[arg-type]


@pytest.mark.redis
def test_redis_storage_is_shared_between_throttles() -> None:
    url = redis_test_url()
    settings = dataclasses.replace(_settings(), celery=CelerySettings(broker_url=url))
    assert not isinstance(limit_storage(settings), MemoryStorage)
    first = LoginThrottle(settings)
    second = LoginThrottle(settings, storage_from_string(url))  # as another process would
    for _ in range(5):
        first.failed("carol@example.test", "203.0.113.5")
    assert second.check("carol@example.test", "203.0.113.5").blocked
