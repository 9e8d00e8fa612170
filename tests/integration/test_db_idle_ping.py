"""Pooled PostgreSQL connections are pinged on checkout only after sitting idle, and a
connection the server dropped while idle is replaced before the caller sees it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import text
from support.db import postgres_schema_url

from mailrs.db import engine as engine_module
from mailrs.db.engine import Database

pytestmark = pytest.mark.slow


@pytest.fixture
def database() -> Iterator[Database]:
    url_iter = postgres_schema_url()
    url = next(url_iter)
    db = Database(url, pool_size=1)
    yield db
    db.dispose()
    next(url_iter, None)


def _backend_pid(db: Database) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def test_a_busy_connection_is_not_pinged(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    pings: list[object] = []
    real = database.engine.dialect.do_ping
    monkeypatch.setattr(database.engine.dialect, "do_ping", lambda c: pings.append(c) or real(c))
    first = _backend_pid(database)
    for _ in range(5):
        assert _backend_pid(database) == first  # the same pooled connection
    assert pings == []


def test_a_connection_dropped_while_idle_is_replaced(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _backend_pid(database)
    admin = Database(database.url)
    try:
        with admin.engine.begin() as conn:
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
    finally:
        admin.dispose()
    clock = engine_module.time.monotonic() + engine_module.PING_AFTER_IDLE_SECS + 1
    monkeypatch.setattr(engine_module.time, "monotonic", lambda: clock)  # it sat idle
    second = _backend_pid(database)  # no error: the ping found it dead, a new one came
    assert second != first
