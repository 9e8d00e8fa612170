"""The central database: engine creation (SQLite in WAL mode, or PostgreSQL) and sessions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
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
    return create_engine(url, pool_pre_ping=True, **sizing)


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
