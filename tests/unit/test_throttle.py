"""Login throttling: growing delays, refusal past the limit, per account and per IP."""

from __future__ import annotations

import dataclasses

from limits.storage import MemoryStorage

from mailrs.accounts.throttle import LoginThrottle, limit_storage
from mailrs.config import AuthSettings, Settings


def _settings(**auth: object) -> Settings:
    return Settings(auth=dataclasses.replace(AuthSettings(), **auth))  # type: ignore[arg-type]


def test_delay_grows_then_refuses_and_success_resets_the_account() -> None:
    throttle = LoginThrottle(_settings(base_delay_secs=0.5, max_delay_secs=4.0), MemoryStorage())
    delays = []
    for _ in range(5):
        decision = throttle.check("Alice@Example.test", "192.0.2.1")
        assert not decision.blocked
        delays.append(decision.delay)
        throttle.failed("alice@example.test", "192.0.2.1")
    assert delays == [0.0, 0.5, 1.0, 2.0, 4.0]
    refused = throttle.check("ALICE@example.test", "192.0.2.9")
    assert refused.blocked and 0 < refused.retry_after <= 300
    throttle.succeeded("alice@example.test", "192.0.2.1")
    assert not throttle.check("alice@example.test", "192.0.2.1").blocked


def test_one_ip_trying_many_accounts_is_refused() -> None:
    throttle = LoginThrottle(_settings(max_failures_per_ip=6), MemoryStorage())
    for n in range(6):
        assert not throttle.check(f"user{n}@example.test", "198.51.100.7").blocked
        throttle.failed(f"user{n}@example.test", "198.51.100.7")
    assert throttle.check("someone@example.test", "198.51.100.7").blocked
    assert not throttle.check("someone@example.test", "198.51.100.8").blocked


def test_failures_expire_with_the_window() -> None:
    import time

    throttle = LoginThrottle(
        _settings(max_failures_per_account=1, failure_window_secs=1), MemoryStorage()
    )
    throttle.failed("bob@example.test", "192.0.2.2")
    assert throttle.check("bob@example.test", "192.0.2.2").blocked
    time.sleep(1.1)
    assert not throttle.check("bob@example.test", "192.0.2.2").blocked


def test_storage_is_memory_without_redis_and_shared_redis_with_it() -> None:
    assert isinstance(limit_storage(Settings()), MemoryStorage)
    assert limit_storage(Settings()) is limit_storage(Settings())
