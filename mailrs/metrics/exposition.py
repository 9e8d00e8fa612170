"""The sum of every process's metrics, plus the queue depth read from the database at
scrape time, in the Prometheus text format; and a small HTTP endpoint for smtpd/imapd."""

from __future__ import annotations

import os
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest, start_http_server
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from mailrs.config import parse_hostport
from mailrs.db.engine import Database
from mailrs.db.models import Message
from mailrs.metrics.process import ENV

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class QueueDepth(Collector):
    """``mailrs_queue_messages{state}``: unfinished messages by pipeline state."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def collect(self) -> Iterator[Metric]:
        """One gauge sample per state (blocking: one SQL query)."""
        gauge = GaugeMetricFamily(
            "mailrs_queue_messages", "Messages in the queue by state.", labels=["state"]
        )
        with self.database.session() as session:
            rows = session.execute(
                select(Message.state, func.count())
                .where(Message.finished_at.is_(None))
                .group_by(Message.state)
            ).all()
        for state, count in rows:
            gauge.add_metric([str(state)], float(count))
        yield gauge


def registry(database: Database | None = None) -> CollectorRegistry:
    """A registry that reads every process's files (and the queue, given the database)."""
    found = CollectorRegistry()
    if os.environ.get(ENV):
        MultiProcessCollector(found)
    if database is not None:
        found.register(QueueDepth(database))
    return found


def render(database: Database | None = None) -> bytes:
    """The text a scrape gets."""
    return generate_latest(registry(database))


def serve_own_endpoint(address: str) -> None:
    """Serve the shared metrics on ``host:port`` from a thread of this process (smtpd/imapd)."""
    host, port = parse_hostport(address)
    start_http_server(port, addr=host, registry=registry())
