"""A fresh PostgreSQL schema per test, for tests that must pass on SQLite and on PostgreSQL."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

from sqlalchemy import create_engine, text

from support.services import POSTGRES_URL, require_service


def postgres_schema_url() -> Iterator[str]:
    """A URL whose search_path is a fresh schema, dropped afterwards."""
    require_service("PostgreSQL", "127.0.0.1", 5432)
    schema = f"mailrs_test_{secrets.token_hex(4)}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
