"""Mailbox events between processes: the file feed and Redis pub/sub."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

import pytest
from support.brokers import BROKERS, broker_url_for

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
        event = sub.get(timeout=10)
        waited = time.monotonic() - started
        child.join(10)
    assert event == {"kind": "new_mail", "folder": "INBOX", "user": "alice@example.test"}
    assert waited < 5  # generous: the point is that it arrives, not a timing claim
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


def test_the_file_feed_survives_rotation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(events, "ROTATE_BYTES", 300)
    settings = _settings(tmp_path, "embedded")
    got = []
    with events.subscribe(settings, "alice@example.test") as sub:
        for n in range(40):
            events.publish_event(settings, "alice@example.test", {"n": n})
            if n % 4 == 0:
                while (event := sub.get(timeout=0.05)) is not None:
                    got.append(event["n"])
        while (event := sub.get(timeout=0.2)) is not None:
            got.append(event["n"])
    assert got == list(range(40))
    assert (tmp_path / "events").is_dir()


def test_publishing_never_raises(tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("x")
    settings = Settings(storage=StorageSettings(data_dir=str(blocked)))
    events.publish_event(settings, "alice@example.test", {"kind": "new_mail"})
    events.publish_event(settings, "alice@example.test", {"big": "x" * 10_000})
    unreachable = Settings(celery=CelerySettings(broker_url="redis://127.0.0.1:1/0"))
    events.publish_event(unreachable, "alice@example.test", {"kind": "new_mail"})
