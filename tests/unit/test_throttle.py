"""Login throttling: counted before the check, per IP and account+IP, in a shared store."""

from __future__ import annotations

import dataclasses
import threading
import time
from pathlib import Path

import pytest
from limits.storage import MemoryStorage

from mailrs.accounts.counters import DatabaseCounters, counter_store
from mailrs.accounts.throttle import LoginThrottle, limit_storage
from mailrs.config import AuthSettings, Settings
from mailrs.db.engine import Database
from mailrs.db.migrate import upgrade


@pytest.fixture
def counters(tmp_path: Path) -> DatabaseCounters:
    url = f"sqlite:///{tmp_path / 'throttle.db'}"
    upgrade(url)
    return DatabaseCounters(Database(url))


def _settings(**auth: object) -> Settings:
    return Settings(auth=dataclasses.replace(AuthSettings(), **auth))  # type: ignore[arg-type]


def test_delay_grows_then_refuses_only_that_account_from_that_ip(
    counters: DatabaseCounters,
) -> None:
    throttle = LoginThrottle(_settings(base_delay_secs=0.5, max_delay_secs=4.0), counters)
    delays = []
    for _ in range(5):
        decision = throttle.begin("Alice@Example.test", "192.0.2.1")
        assert not decision.blocked
        delays.append(decision.delay)
        throttle.failed("alice@example.test", "192.0.2.1", decision)
    assert delays == [0.0, 0.5, 1.0, 2.0, 4.0]
    refused = throttle.begin("ALICE@example.test", "192.0.2.1")
    assert refused.blocked and 0 < refused.retry_after <= 300
    # the owner, from another address, is not locked out
    other = throttle.begin("alice@example.test", "192.0.2.9")
    assert not other.blocked and other.delay == 0.0
    throttle.succeeded("alice@example.test", "192.0.2.9")


def test_a_good_login_gives_its_attempts_back(counters: DatabaseCounters) -> None:
    throttle = LoginThrottle(_settings(max_failures_per_ip=3), counters)
    for _ in range(10):  # a mail client logging in again and again is never throttled
        assert not throttle.begin("bob@example.test", "192.0.2.2").blocked
        throttle.succeeded("bob@example.test", "192.0.2.2")


def test_one_ip_trying_many_accounts_is_refused(counters: DatabaseCounters) -> None:
    throttle = LoginThrottle(_settings(max_failures_per_ip=6), counters)
    for n in range(6):
        decision = throttle.begin(f"user{n}@example.test", "198.51.100.7")
        assert not decision.blocked
        throttle.failed(f"user{n}@example.test", "198.51.100.7", decision)
    assert throttle.begin("someone@example.test", "198.51.100.7").blocked
    assert not throttle.begin("someone@example.test", "198.51.100.8").blocked


def test_many_failing_ips_slow_the_account_down_without_locking_it(
    counters: DatabaseCounters,
) -> None:
    throttle = LoginThrottle(
        _settings(account_slowdown_ips=4, base_delay_secs=0.25, max_delay_secs=2.0), counters
    )
    for n in range(6):
        decision = throttle.begin("carol@example.test", f"203.0.113.{n}")
        throttle.failed("carol@example.test", f"203.0.113.{n}", decision)
    owner = throttle.begin("carol@example.test", "192.0.2.50")
    assert not owner.blocked and owner.delay > 0


def test_failures_expire_with_the_window(counters: DatabaseCounters) -> None:
    throttle = LoginThrottle(_settings(max_failures_per_account=1, failure_window_secs=1), counters)
    decision = throttle.begin("bob@example.test", "192.0.2.2")
    throttle.failed("bob@example.test", "192.0.2.2", decision)
    assert throttle.begin("bob@example.test", "192.0.2.2").blocked
    time.sleep(1.1)
    assert not throttle.begin("bob@example.test", "192.0.2.2").blocked


def test_parallel_increments_are_atomic(counters: DatabaseCounters) -> None:
    seen: list[int] = []
    lock = threading.Lock()

    def hit() -> None:
        count, _ = counters.incr("race", 60)
        with lock:
            seen.append(count)

    threads = [threading.Thread(target=hit) for _ in range(200)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(seen) == list(range(1, 201))  # no two attempts read the same count


def test_parallel_attempts_get_at_most_the_allowed_checks(counters: DatabaseCounters) -> None:
    settings = _settings(max_failures_per_account=5, max_failures_per_ip=1000, base_delay_secs=0)
    throttle = LoginThrottle(settings, counters)
    allowed: list[bool] = []
    lock = threading.Lock()

    def attempt() -> None:
        decision = throttle.begin("dave@example.test", "192.0.2.77")
        with lock:
            allowed.append(not decision.blocked)

    threads = [threading.Thread(target=attempt) for _ in range(200)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(allowed) == 200 and sum(allowed) == 5


def test_the_store_is_the_database_without_redis(tmp_path: Path) -> None:
    settings = Settings()
    settings = dataclasses.replace(
        settings, database=dataclasses.replace(settings.database, url=f"sqlite:///{tmp_path}/a.db")
    )
    store = counter_store(settings)
    assert isinstance(store, DatabaseCounters) and counter_store(settings) is store
    assert isinstance(limit_storage(Settings()), MemoryStorage)  # smtpd's message rates
