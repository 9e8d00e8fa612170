"""Test configuration files: free ports, a config per test, provisioned data directories."""

from __future__ import annotations

import itertools
import socket
import sqlite3
from collections.abc import Callable
from pathlib import Path

from mailrs.accounts.users import add_user
from mailrs.config import load_settings
from mailrs.db.engine import Database
from mailrs.db.migrate import upgrade
from mailrs.store.maildir import MaildirStore

# Ports written into configs that nothing will listen on (the unit tier opens no sockets).
_UNUSED_PORTS = itertools.count(20000)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def unused_port() -> int:
    """A distinct port number for a config whose listeners are never started (no socket)."""
    return next(_UNUSED_PORTS)


def write_config(
    directory: Path,
    broker_url: str = "",
    db_url: str = "",
    *,
    port: Callable[[], int] = free_port,
) -> Path:
    """Write a test config under ``directory``; returns its path.

    Listener ports come from ``port``: free ports by default; unit tests, which start no
    listener, pass ``port=unused_port``.
    """
    lines = [
        'mode = "development"',
        "[smtp]",
        f'listen_addr = "127.0.0.1:{port()}"',
        f'submission_addr = "127.0.0.1:{port()}"',
        'local_domains = ["example.test"]',
        'hostname = "mx.example.test"',
        "[imap]",
        f'listen_addr = "127.0.0.1:{port()}"',
        "[api]",
        f'listen_addr = "127.0.0.1:{port()}"',
        'jwt_secret = "test-only-jwt-secret-not-real-0123"',
        "[storage]",
        'data_dir = "data"',
        "[database]",
        f'url = "{db_url}"',
        "[celery]",
        f'broker_url = "{broker_url}"',
        "[spam]",
        "# Tests never ask real DNS: tests/integration/test_sender_auth.py turns this on"
        " with a test DNS.",
        "check_sender_auth = false",
    ]
    path = directory / "mailrs.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


_MIGRATED: dict[str, Path] = {}


def migrate(url: str, template_dir: Path | None = None) -> None:
    """Migrate a database to head; a SQLite file is copied from one migrated template.

    Running Alembic costs a good part of a second; the schema is the same for every
    test, so the first SQLite database is migrated for real and later ones are copies
    (sqlite3's backup API, so the copy is a consistent database file). A database file
    that already exists is migrated in place.
    """
    prefix = "sqlite:///"
    target = Path(url[len(prefix) :])
    if not url.startswith(prefix) or template_dir is None or target.exists():
        upgrade(url)  # a database that already exists is brought up to head, never replaced
        return
    template = _MIGRATED.get(str(template_dir))
    if template is None or not template.exists():
        template_dir.mkdir(parents=True, exist_ok=True)
        template = template_dir / "migrated.db"
        upgrade(prefix + str(template))
        _MIGRATED[str(template_dir)] = template
    target.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(template) as source, sqlite3.connect(target) as copy:
        source.backup(copy)
    source.close()
    copy.close()


def provision(
    directory: Path,
    broker_url: str = "",
    users: tuple[str, ...] = (),
    *,
    port: Callable[[], int] = free_port,
) -> Path:
    """A config under ``directory``, its database migrated, and these users added."""
    config = write_config(directory, broker_url=broker_url, port=port)
    settings = load_settings(config, environ={})
    upgrade(settings.database_url)
    db = Database.from_settings(settings)
    store = MaildirStore(settings.maildir_path)
    with db.session() as session:
        for address in users:
            add_user(session, store, address, f"{address.split('@')[0]} password")
    db.dispose()
    return config
