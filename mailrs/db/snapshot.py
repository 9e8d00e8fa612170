"""A consistent copy of the central database, and bringing it back.

SQLite is copied with its online backup API (readers and writers may go on meanwhile;
the copy is one consistent state). PostgreSQL is dumped with ``pg_dump`` in its custom
format and restored with ``pg_restore``; both must be installed for a PostgreSQL site.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url

from mailrs.errors import MailrsError

SQLITE_FILE = "mailrs.db"
PG_FILE = "database.pgdump"


class SnapshotError(MailrsError):
    """A backup or restore step that failed (tool missing, tool error, bad file)."""


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL, None for another database."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    if not parsed.database or parsed.database == ":memory:":
        raise SnapshotError(f"cannot back up an in-memory SQLite database ({url})")
    return Path(parsed.database)


def libpq_url(url: str) -> str:
    """A SQLAlchemy PostgreSQL URL as libpq tools take it (no ``+driver``)."""
    parsed = make_url(url).set(drivername="postgresql")
    return parsed.render_as_string(hide_password=False)


def copy_sqlite(source: Path, target: Path) -> None:
    """A consistent copy of a live SQLite file with the backup API."""
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
        finally:
            dst.close()
    except sqlite3.Error as exc:
        raise SnapshotError(f"SQLite backup of {source} failed: {exc}") from None
    finally:
        src.close()


def dump_database(url: str, folder: Path) -> dict[str, str]:
    """Copy the database into ``folder``; the manifest entry that describes the copy."""
    path = sqlite_path(url)
    if path is not None:
        if not path.exists():
            raise SnapshotError(f"database file {path} does not exist")
        copy_sqlite(path, folder / SQLITE_FILE)
        return {"kind": "sqlite", "file": SQLITE_FILE}
    if make_url(url).get_backend_name() != "postgresql":
        raise SnapshotError(f"cannot back up a {make_url(url).get_backend_name()} database")
    tool = _tool("pg_dump")
    target = folder / PG_FILE
    _run([tool, "--format=custom", "--no-owner", f"--file={target}", libpq_url(url)])
    return {"kind": "postgresql", "file": PG_FILE}


def restore_database(entry: dict[str, str], folder: Path, url: str) -> None:
    """Bring a dumped database back into ``url`` (a new SQLite file, or an empty database)."""
    source = folder / entry["file"]
    if entry["kind"] == "sqlite":
        path = sqlite_path(url)
        if path is None:
            raise SnapshotError("a SQLite backup restores into a SQLite database only")
        if path.exists():
            raise SnapshotError(f"database file {path} exists already; restore into a new one")
        copy_sqlite(source, path)
        return
    if make_url(url).get_backend_name() != "postgresql":
        raise SnapshotError("a PostgreSQL backup restores into a PostgreSQL database only")
    tool = _tool("pg_restore")
    _run([tool, "--no-owner", "--exit-on-error", f"--dbname={libpq_url(url)}", str(source)])


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise SnapshotError(f"{name} is not installed (needed for a PostgreSQL database)")
    return found


def _run(argv: list[str]) -> None:
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        reason = (result.stderr.strip().splitlines() or ["no message"])[-1]
        raise SnapshotError(f"{Path(argv[0]).name} failed: {reason}")
