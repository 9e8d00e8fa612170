"""The gevent worker on PostgreSQL (psycopg waits cooperatively once gevent has patched
the process): more open chat sockets than the connection pool has connections, and pages,
tokens, revocation and the throttle still work."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from support.chat_client import Browser
from support.config import write_config
from support.db import postgres_schema_url
from support.gunicorn import api_token, gunicorn_web, request

from mailrs.accounts.users import add_user
from mailrs.config import load_settings
from mailrs.db.engine import Database
from mailrs.db.migrate import upgrade
from mailrs.store.maildir import MaildirStore

pytestmark = [pytest.mark.slow, pytest.mark.postgres]
ALICE = "alice@example.test"
SOCKETS = 40  # more than the pool's 5 + 10 overflow connections


def test_sockets_hold_no_connection_and_logins_work(tmp_path: Path) -> None:
    for url in postgres_schema_url():
        _exercise(tmp_path, url)


def _exercise(tmp_path: Path, url: str) -> None:
    """Serve from the PostgreSQL schema ``url`` and drive it with real clients."""
    config = write_config(tmp_path, db_url=url)
    settings = load_settings(config, environ={})
    upgrade(settings.database_url)
    db = Database.from_settings(settings)
    with db.session() as session:
        add_user(session, MaildirStore(settings.maildir_path), ALICE, "alice password")
    db.dispose()
    with gunicorn_web(config, workers=1, MAILRS_AUTH_BASE_DELAY_SECS="0") as server:
        browser = Browser(server.base, ALICE, "alice password")
        with ThreadPoolExecutor(max_workers=10) as pool:
            chats = list(pool.map(lambda _: browser.chat(), range(SOCKETS)))
        try:
            status, _, _ = request(
                server.host,
                server.port,
                "GET",
                "/",
                headers={"Cookie": browser.cookie},
                timeout=10,
            )
            assert status == 200
            _, done = chats[-1].ask("hello")
            assert done["type"] == "done"
            status, body = api_token(server, ALICE, "alice password")
            assert status == 200
            token = body["token"]
            assert (
                request(
                    server.host,
                    server.port,
                    "POST",
                    "/api/auth/revoke",
                    headers={"Authorization": f"Bearer {token}"},
                )[0]
                == 200
            )
            assert (
                request(
                    server.host,
                    server.port,
                    "GET",
                    "/api/folders",
                    headers={"Authorization": f"Bearer {token}"},
                )[0]
                == 401
            )
            with ThreadPoolExecutor(max_workers=20) as pool:
                statuses = list(pool.map(lambda _: api_token(server, ALICE, "wrong")[0], range(40)))
            limit = settings.auth.max_failures_per_account
            assert statuses.count(401) <= limit and set(statuses) <= {401, 429}
        finally:
            for chat in chats:
                chat.close()
