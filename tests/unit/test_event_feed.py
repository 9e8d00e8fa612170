"""Mailbox events on the file feed (no broker server): rotation; failures are logged, not raised."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from support.brokers import broker_url_for

from mailrs.config import CelerySettings, Settings, StorageSettings
from mailrs.store import events


def _settings(tmp_path: Path, broker: str) -> Settings:
    return Settings(
        storage=StorageSettings(data_dir=str(tmp_path)),
        celery=CelerySettings(broker_url=broker_url_for(broker)),
    )


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


def test_an_event_that_cannot_be_written_is_logged_and_dropped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("x")
    settings = Settings(storage=StorageSettings(data_dir=str(blocked)))
    with caplog.at_level(logging.WARNING, logger=events.log.name):
        events.publish_event(settings, "alice@example.test", {"kind": "new_mail"})
    assert "could not publish event for alice@example.test" in caplog.text
    assert blocked.read_text() == "x"


def test_an_oversized_event_is_dropped_and_later_events_still_arrive(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = _settings(tmp_path, "embedded")
    with events.subscribe(settings, "alice@example.test") as sub:
        with caplog.at_level(logging.WARNING, logger=events.log.name):
            events.publish_event(settings, "alice@example.test", {"big": "x" * 10_000})
        events.publish_event(settings, "alice@example.test", {"n": 1})
        assert sub.get(timeout=1) == {"n": 1, "user": "alice@example.test"}
        assert sub.get(timeout=0.2) is None
    assert "too large" in caplog.text
