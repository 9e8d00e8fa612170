"""RCPT lookups remembered briefly: only known local recipients, never past the TTL."""

from __future__ import annotations

import asyncio

import pytest

from smtpd import recipient_cache
from smtpd.recipient_cache import RecipientCache
from smtpd.recipients import RecipientFacts

KNOWN = RecipientFacts(True, True, True, False, unlimited=True)


class Clock:
    """A stand-in for time.monotonic that the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(recipient_cache.time, "monotonic", fake)
    return fake


def test_a_known_recipient_is_remembered_until_the_ttl(clock: Clock) -> None:
    cache = RecipientCache(ttl=5)
    cache.put("Alice@Example.test", KNOWN)
    assert cache.get("alice@example.TEST", False) == KNOWN  # any case
    assert cache.get("alice@example.test", True) is None  # the other AUTH state: looked up
    clock.now += 4.9
    assert cache.get("alice@example.test", False) == KNOWN
    clock.now += 0.1
    assert cache.get("alice@example.test", False) is None  # a deleted user: 5 s at most


@pytest.mark.parametrize(
    "facts",
    [
        RecipientFacts(False, False, False, False),  # bad syntax
        RecipientFacts(True, True, False, False),  # unknown local: a new account must work now
        RecipientFacts(True, False, False, False),  # relay denied
        RecipientFacts(True, False, False, True, unlimited=True),  # relayed for AUTH
        RecipientFacts(True, True, True, False),  # has a quota: depends on the usage
        RecipientFacts(True, True, True, False, full=True),  # full now, maybe not in 1 s
    ],
)
def test_nothing_but_known_local_recipients_is_remembered(
    clock: Clock, facts: RecipientFacts
) -> None:
    cache = RecipientCache()
    cache.put("someone@example.test", facts)
    assert cache.get("someone@example.test", facts.authenticated) is None


def test_the_cache_is_bounded_and_a_ttl_of_zero_turns_it_off(clock: Clock) -> None:
    cache = RecipientCache(ttl=5, max_entries=3)
    for n in range(5):
        cache.put(f"u{n}@example.test", KNOWN)
        clock.now += 1
    assert [cache.get(f"u{n}@example.test", False) for n in range(5)] == [None, None] + [KNOWN] * 3
    off = RecipientCache(ttl=0)
    off.put("alice@example.test", KNOWN)
    assert off.get("alice@example.test", False) is None


def test_concurrent_misses_share_one_lookup_and_failures_are_not_kept() -> None:
    calls: list[str] = []

    async def scenario() -> None:
        cache = RecipientCache()
        gate = asyncio.Event()

        async def fetch() -> RecipientFacts:
            calls.append("lookup")
            await gate.wait()
            return KNOWN

        waits = [asyncio.create_task(cache.lookup("alice@example.test", False, fetch))]
        waits += [asyncio.create_task(cache.lookup("ALICE@example.test", False, fetch))]
        lost = asyncio.create_task(cache.lookup("alice@example.test", False, fetch))
        await asyncio.sleep(0)
        lost.cancel()  # a session gone while waiting: the others still get their answer
        gate.set()
        assert await asyncio.gather(*waits) == [KNOWN, KNOWN]
        assert await cache.lookup("alice@example.test", False, fetch) == KNOWN  # remembered

        async def broken() -> RecipientFacts:
            calls.append("broken")
            raise OSError("database down")

        for _ in range(2):
            with pytest.raises(OSError):
                await cache.lookup("bob@example.test", False, broken)

    asyncio.run(scenario())
    assert calls == ["lookup", "broken", "broken"]
