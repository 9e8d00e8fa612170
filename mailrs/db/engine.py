"""The central database: engine creation (SQLite in WAL mode, or PostgreSQL) and sessions."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

from mailrs.config import Settings


def make_engine(url: str, pool_size: int | None = None) -> Engine:
    """Create an engine; SQLite gets WAL, a busy timeout and foreign keys.

    ``pool_size`` (for a process with that many worker threads) lets every thread hold
    a connection at once, so none waits on the pool; by default SQLAlchemy's 5 + 10.
    """
    sizing: dict[str, int] = {}
    if pool_size is not None:
        sizing = {"pool_size": min(pool_size, 10), "max_overflow": max(0, pool_size - 10)}
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        else:
            sizing = {}  # one in-memory database per thread: no queue pool to size
        engine = create_engine(url, connect_args={"timeout": 30}, **sizing)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    engine = create_engine(url, **sizing)
    ping_after_idle(engine)
    return engine


PING_AFTER_IDLE_SECS = 5.0


def ping_after_idle(engine: Engine, idle_secs: float = PING_AFTER_IDLE_SECS) -> None:
    """Check a pooled connection on checkout only when it sat idle for ``idle_secs``.

    ``pool_pre_ping`` costs a round trip at every checkout: several per message in smtpd
    and the workers, a quarter of a short session's cost on PostgreSQL. A connection
    just checked in was alive a moment ago; one that sat idle may have been dropped
    (server restart, failover, an idle timeout on the way), so it is pinged, and a dead
    one replaced before the caller sees it. A server lost while connections are busy
    fails the statements under way; SQLAlchemy then invalidates the pool, so only that
    unit of work fails (smtpd answers 451 and the sender retries; a pipeline task runs
    again) and the next checkout connects anew.
    """

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.pop("idle_since", None)
        if since is None or time.monotonic() - since < idle_secs:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:  # the pool discards it and checks out another
            raise DisconnectionError(f"connection lost while idle: {exc}") from exc


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # FULL: a commit is on disk when it returns; the 250 reply depends on that. The
    # pipeline stages keep FULL too, deliberately: deliver's exactly-once rests on its
    # "delivering" commit (the attempt count a re-run reads to look for an earlier copy)
    # being durable before the Maildir write; with NORMAL a power cut could forget it
    # while the copy survives, and the re-run would not look. Batching (one commit per
    # stage per batch) already makes the fsyncs cheap per message.
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


class Database:
    """An engine and its session factory, made once per process from the settings."""

    def __init__(self, url: str, pool_size: int | None = None) -> None:
        self.url = url
        self.engine = make_engine(url, pool_size)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @classmethod
    def from_settings(cls, settings: Settings, pool_size: int | None = None) -> Database:
        """The database named by the settings (``pool_size``: see ``make_engine``)."""
        return cls(settings.database_url, pool_size)

    def session(self) -> Session:
        """A new session; use it as a context manager."""
        return self.sessions()

    def ping(self) -> None:
        """Run a trivial query; raises if the database cannot be reached."""
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
