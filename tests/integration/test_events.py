"""Mailbox events between processes: the file feed and Redis pub/sub."""

from __future__ import annotations

import logging
import multiprocessing
import time
import uuid
from pathlib import Path

import pytest
from support.brokers import BROKERS, broker_url_for
from support.config import free_port

from mailrs.config import CelerySettings, Settings, StorageSettings
from mailrs.store import events


def _settings(tmp_path: Path, broker: str) -> Settings:
    return Settings(
        storage=StorageSettings(data_dir=str(tmp_path)),
        celery=CelerySettings(broker_url=broker_url_for(broker)),
    )


def _publish_later(settings: Settings, user: str, delay: float) -> None:
    time.sleep(delay)
    events.publish_event(settings, user, {"kind": "new_mail", "folder": "INBOX"})


@pytest.mark.parametrize("broker", BROKERS)
def test_an_event_from_another_process_arrives_promptly(tmp_path: Path, broker: str) -> None:
    settings = _settings(tmp_path, broker)
    with events.subscribe(settings, "Alice@example.test") as sub:
        events.publish_event(settings, "bob@example.test", {"kind": "new_mail"})
        child = multiprocessing.get_context("spawn").Process(
            target=_publish_later, args=(settings, "alice@EXAMPLE.test", 0.3)
        )
        child.start()
        started = time.monotonic()
        event = sub.get(timeout=30)
        print(f"event arrived after {time.monotonic() - started:.2f} s")
        child.join(10)
    assert event == {"kind": "new_mail", "folder": "INBOX", "user": "alice@example.test"}
    assert child.exitcode == 0


@pytest.mark.parametrize("broker", BROKERS)
def test_only_events_after_subscribing_arrive_in_order(tmp_path: Path, broker: str) -> None:
    settings = _settings(tmp_path, broker)
    events.publish_event(settings, "alice@example.test", {"n": -1})
    with events.subscribe(settings, "alice@example.test") as sub:
        for n in range(30):
            events.publish_event(settings, "alice@example.test", {"n": n})
        got = []
        while (event := sub.get(timeout=1)) is not None:
            got.append(event["n"])
    assert got == list(range(30))


def test_publishing_to_an_unreachable_redis_is_logged_not_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    unreachable = Settings(celery=CelerySettings(broker_url=f"redis://127.0.0.1:{free_port()}/0"))
    with caplog.at_level(logging.WARNING, logger=events.log.name):
        events.publish_event(unreachable, "alice@example.test", {"kind": "new_mail"})
    assert "could not publish event for alice@example.test" in caplog.text


@pytest.mark.redis
def test_sites_on_other_databases_of_one_redis_do_not_hear_each_other(tmp_path: Path) -> None:
    ours = _settings(tmp_path, "redis")
    base, db = ours.celery.broker_url.rsplit("/", 1)
    # Pub/sub is server-wide: only the channel name tells the databases apart (nothing is
    # written to the other database). The other database may be another test worker's,
    # so the user is one nobody else has: anything heard for it crossed over.
    other = Settings(celery=CelerySettings(broker_url=f"{base}/{(int(db) + 1) % 16}"))
    user = f"isolation-{uuid.uuid4().hex}@example.test"

    def heard(feed: events.Subscription, timeout: float) -> list[dict[str, object]]:
        found = []
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            event = feed.get(timeout=left)
            if event is None:
                break
            if event.get("user") == user:
                found.append(event)
        return found

    with (
        events.subscribe(ours, user) as mine,
        events.subscribe(other, user) as theirs,
        events.subscribe_all(other) as all_theirs,  # type: ignore[union-attr]
    ):
        events.publish_event(ours, user, {"kind": "new_mail", "folder": "INBOX"})
        event = mine.get(timeout=10)
        assert event is not None and event["user"] == user
        assert theirs.get(timeout=1) is None
        assert heard(all_theirs, 0.5) == []
        events.publish_event(other, user, {"kind": "new_mail", "folder": "Sent"})
        assert theirs.get(timeout=10) == {"kind": "new_mail", "folder": "Sent", "user": user}
        assert mine.get(timeout=1) is None
