"""Fixtures of the integration tier: real smtpd and imapd processes, and both databases.

A module configures its server with a marker instead of defining its own fixture::

    pytestmark = pytest.mark.smtp_server(worker=True, MAILRS_SMTP_MAX_RECIPIENTS="3")
    pytestmark = pytest.mark.imap_server(tls=True, env={"MAILRS_IMAP_PLAINTEXT_AUTH": "never"})
    pytestmark = pytest.mark.dns_zone(["remote.test MX 10 mx.remote.test."], servfail=())

The arguments go to ``support.smtp.smtp_server``, ``support.imap.ServerHarness`` and
``support.dns.DnsServer``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.db import postgres_schema_url
from support.dns import DnsServer
from support.imap import ServerHarness
from support.smtp import Server, smtp_server

from mailrs.db.engine import Database
from mailrs.db.migrate import upgrade


def _options(request: pytest.FixtureRequest, marker: str) -> dict[str, Any]:
    found = request.node.get_closest_marker(marker)
    return dict(found.kwargs) if found else {}


@pytest.fixture(scope="module")
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """One smtpd (TLS on its three listeners) for the module, configured by its
    ``smtp_server`` marker (``worker=True`` adds a Celery worker that delivers)."""
    directory = tmp_path_factory.mktemp(request.module.__name__.rsplit(".", 1)[-1])
    with smtp_server(directory, **_options(request, "smtp_server")) as running:
        yield running


@pytest.fixture(scope="module")
def harness(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerHarness]:
    """One imapd (users alice and bob) for the module, configured by its ``imap_server``
    marker; stopping it fails the module's last test if the server logged a traceback."""
    directory = tmp_path_factory.mktemp(request.module.__name__.rsplit(".", 1)[-1])
    running = ServerHarness(directory, **_options(request, "imap_server")).start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def dns(request: pytest.FixtureRequest) -> Iterator[DnsServer]:
    """A UDP DNS server on loopback for the module, answering from its ``dns_zone`` marker."""
    marker = request.node.get_closest_marker("dns_zone")
    assert marker is not None, "a module using the dns fixture sets pytest.mark.dns_zone(ZONE)"
    with DnsServer(*marker.args, **marker.kwargs) as server:
        yield server


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated database: SQLite in the test dir, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'mailrs.db'}"
        upgrade(url)
        db = Database(url)
        yield db
        db.dispose()
        return
    for url in postgres_schema_url():
        upgrade(url)
        db = Database(url)
        try:
            yield db
        finally:
            db.dispose()
