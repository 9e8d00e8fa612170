"""The Celery broker URL and its options: the embedded file broker or a real server."""

from __future__ import annotations

from typing import Any

from mailrs.broker import redis_transport
from mailrs.broker.embedded import TRANSPORT
from mailrs.config import Settings


def celery_options(settings: Settings) -> dict[str, Any]:
    """Celery settings that come from the mailrs config: broker and result backend."""
    options = _broker_options(settings)
    if settings.celery.result_backend:
        options["result_backend"] = settings.celery.result_backend
    return options


def _broker_options(settings: Settings) -> dict[str, Any]:
    """Celery settings that depend on the configured broker."""
    if settings.embedded_broker:
        folder = settings.broker_dir
        for sub in ("queue", "claimed", "control"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        return {
            "broker_url": "filesystem://",
            "broker_transport": TRANSPORT,
            "broker_transport_options": {
                "data_folder_in": str(folder / "queue"),
                "data_folder_out": str(folder / "queue"),
                "control_folder": str(folder / "control"),
                "polling_interval": 0.05,
            },
            # The file transport has no fanout for remote control or events.
            "worker_enable_remote_control": False,
            "worker_send_task_events": False,
        }
    if settings.celery.broker_url.startswith(("redis://", "rediss://")):
        redis_transport.install()  # one redis-py client per channel, not per command
    return {
        "broker_url": settings.celery.broker_url,
        "broker_transport": None,
        "broker_transport_options": {},
        # Workers' events are what Flower needs; "task-sent" events from every publisher
        # (smtpd) would more than halve its publish rate, so they stay off.
        "worker_send_task_events": settings.celery.task_events,
    }
