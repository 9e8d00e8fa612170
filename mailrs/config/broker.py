"""The [celery] section: the broker and result backend of the pipeline, and the sweeper."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from mailrs.config.fields import Section, require_not_negative
from mailrs.errors import ConfigError


@dataclass(frozen=True)
class CelerySettings(Section):
    """The broker; an empty URL means the embedded file broker under ``data_dir``."""

    section: ClassVar[str] = "celery"

    broker_url: str = ""
    result_backend: str = ""
    sweep_grace_secs: int = 300
    sweep_interval_secs: int = 60
    task_events: bool = True
    flower_url: str = ""  # where Flower runs, linked from the admin area's pipeline page

    def validate(self) -> None:
        """Sweeper timings, and URLs whose scheme an installed transport or backend knows."""
        require_not_negative(
            ("celery.sweep_grace_secs", self.sweep_grace_secs),
            ("celery.sweep_interval_secs", self.sweep_interval_secs),
        )
        for url_name, url in (
            ("celery.broker_url", self.broker_url),
            ("celery.result_backend", self.result_backend),
        ):
            if url and "://" not in url:
                raise ConfigError(f"{url_name}: expected a URL, got {url!r}")
        broker = self.broker_url
        if broker and _scheme(broker) not in COMMON_TRANSPORTS:
            from kombu.transport import TRANSPORT_ALIASES

            if _scheme(broker) not in TRANSPORT_ALIASES:
                raise ConfigError(f"celery.broker_url: unknown broker transport in {broker!r}")
        backend = self.result_backend
        if backend and _scheme(backend) not in COMMON_BACKENDS:
            from celery.app.backends import BACKEND_ALIASES

            if _scheme(backend) not in BACKEND_ALIASES:
                raise ConfigError(f"celery.result_backend: unknown result backend in {backend!r}")


COMMON_TRANSPORTS = frozenset({"redis", "rediss", "amqp", "amqps", "pyamqp", "memory"})
"""Schemes kombu always knows: checking them needs no import of kombu (``mailrs up``'s
supervisor and the services that need no broker client load the config too)."""
COMMON_BACKENDS = frozenset({"redis", "rediss", "rpc", "db", "database", "cache", "file"})


def _scheme(url: str) -> str:
    """The scheme of ``url`` without a ``+driver`` suffix."""
    return url.split("://", 1)[0].split("+", 1)[0]
