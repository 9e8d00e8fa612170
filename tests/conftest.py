"""Fixtures every tier shares (a fresh settings file, database and Maildir per test), and
the tier markers: a test is ``unit``, ``integration`` or ``browser`` by the folder it is in.

Helpers live in ``tests/support/``; this file holds fixtures and collection hooks only.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.config import free_port, migrate, unused_port, write_config

from mailrs.config import Settings, load_settings
from mailrs.db.engine import Database
from mailrs.store.maildir import MaildirStore

TESTS = Path(__file__).resolve().parent
TIERS = ("unit", "integration", "browser")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test with its tier: the first folder under ``tests/`` it lives in."""
    for item in items:
        try:
            folder = item.path.resolve().relative_to(TESTS).parts[0]
        except (ValueError, IndexError):
            continue
        if folder in TIERS:
            item.add_marker(getattr(pytest.mark, folder))


@pytest.fixture
def config_path(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """A config file for this test, with its own data directory (and free ports, when the
    test may listen on them: unit tests get port numbers nothing will open)."""
    port = unused_port if request.node.get_closest_marker("unit") else free_port
    return write_config(tmp_path, port=port)


@pytest.fixture
def settings(config_path: Path) -> Settings:
    """Settings loaded from the test's config file."""
    return load_settings(config_path, environ={})


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the one Alembic-migrated SQLite database that test databases copy is kept."""
    return tmp_path_factory.mktemp("migrated")


@pytest.fixture
def database(settings: Settings, migrated_template: Path) -> Iterator[Database]:
    """The test's SQLite database, migrated to head."""
    migrate(settings.database_url, migrated_template)
    db = Database.from_settings(settings)
    yield db
    db.dispose()


@pytest.fixture
def store(settings: Settings) -> MaildirStore:
    """The test's Maildir store."""
    return MaildirStore(settings.maildir_path)
