"""Shared fixtures: a fresh settings file, database and Maildir per test, free ports."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailrs.accounts.users import add_user
from mailrs.cli.supervisor import accepts_connections
from mailrs.config import Settings, load_settings
from mailrs.db.engine import Database
from mailrs.db.migrate import upgrade
from mailrs.store.maildir import MaildirStore

REQUIRE_SERVICES = os.environ.get("MAILRS_TEST_REQUIRE_SERVICES") == "1"
REDIS_URL = os.environ.get("MAILRS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
POSTGRES_URL = os.environ.get(
    "MAILRS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_config(directory: Path, broker_url: str = "", db_url: str = "") -> Path:
    """Write a test config with free ports under ``directory``; returns its path."""
    lines = [
        'mode = "development"',
        "[smtp]",
        f'listen_addr = "127.0.0.1:{free_port()}"',
        f'submission_addr = "127.0.0.1:{free_port()}"',
        'local_domains = ["example.test"]',
        'hostname = "mx.example.test"',
        "[imap]",
        f'listen_addr = "127.0.0.1:{free_port()}"',
        "[api]",
        f'listen_addr = "127.0.0.1:{free_port()}"',
        'jwt_secret = "test-only-jwt-secret-not-real-0123"',
        "[storage]",
        'data_dir = "data"',
        "[database]",
        f'url = "{db_url}"',
        "[celery]",
        f'broker_url = "{broker_url}"',
        "[spam]",
        "# Tests never ask real DNS: tests/test_sender_auth.py turns this on with a test DNS.",
        "check_sender_auth = false",
    ]
    path = directory / "mailrs.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def require_service(name: str, host: str, port: int) -> None:
    """Skip (or fail, in CI) when a needed server is not running."""
    if accepts_connections(host, port):
        return
    message = f"{name} is not running on {host}:{port}"
    if REQUIRE_SERVICES:
        pytest.fail(message + " (MAILRS_TEST_REQUIRE_SERVICES=1)")
    pytest.skip(message)


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    """A config file for this test, with its own data directory and free ports."""
    return write_config(tmp_path)


@pytest.fixture
def settings(config_path: Path) -> Settings:
    """Settings loaded from the test's config file."""
    return load_settings(config_path, environ={})


@pytest.fixture
def database(settings: Settings) -> Iterator[Database]:
    """The test's SQLite database, migrated to head."""
    upgrade(settings.database_url)
    db = Database.from_settings(settings)
    yield db
    db.dispose()


@pytest.fixture
def store(settings: Settings) -> MaildirStore:
    """The test's Maildir store."""
    return MaildirStore(settings.maildir_path)


def require_tool(name: str) -> str:
    """The path of a command-line tool; skip (or fail, in CI) when it is missing."""
    import shutil

    path = shutil.which(name)
    if path:
        return path
    message = f"{name} is not installed"
    if REQUIRE_SERVICES:
        pytest.fail(message + " (MAILRS_TEST_REQUIRE_SERVICES=1)")
    pytest.skip(message)


def provision(directory: Path, broker_url: str = "", users: tuple[str, ...] = ()) -> Path:
    """A config under ``directory``, its database migrated, and these users added."""
    config = write_config(directory, broker_url=broker_url)
    settings = load_settings(config, environ={})
    upgrade(settings.database_url)
    db = Database.from_settings(settings)
    store = MaildirStore(settings.maildir_path)
    with db.session() as session:
        for address in users:
            add_user(session, store, address, f"{address.split('@')[0]} password")
    db.dispose()
    return config
