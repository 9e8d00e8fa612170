"""The app's shared resources (settings, database, Maildir store) and per-request sessions.

Everything is wired here, once, by ``init_app``: the settings, the ``Database`` and the
``MaildirStore`` live in ``app.extensions["mailrs"]``; a database session is opened on
first use in a request (or CLI command) and closed when its app context ends.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from flask import Flask, current_app, g
from sqlalchemy.orm import Session

from mailrs.accounts.throttle import LoginThrottle
from mailrs.config import Settings
from mailrs.db.engine import Database
from mailrs.queue.spool import Spool
from mailrs.store.maildir import MaildirStore
from web.mailservice.mailbox import UserMailbox
from web.mailservice.sending import Outbox

EXTENSION_KEY = "mailrs"


@dataclass
class Resources:
    """What every request of one app shares: frozen settings, the database, the store."""

    settings: Settings
    database: Database
    store: MaildirStore
    outbox: Outbox
    throttle: LoginThrottle
    schema_ready: bool = False
    schema_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


def init_app(app: Flask, settings: Settings) -> Resources:
    """Create the app's resources from the settings and close sessions after each request."""
    database = Database.from_settings(settings)
    resources = Resources(
        settings=settings,
        database=database,
        store=MaildirStore(settings.maildir_path),
        outbox=Outbox(settings, database, Spool(settings.spool_path)),
        throttle=LoginThrottle(settings),
    )
    app.extensions[EXTENSION_KEY] = resources
    app.teardown_appcontext(close_db_session)
    return resources


def get_resources() -> Resources:
    """The resources of the current app."""
    return current_app.extensions[EXTENSION_KEY]


def get_store() -> MaildirStore:
    """The current app's Maildir store."""
    return get_resources().store


def open_mailbox(address: str) -> UserMailbox:
    """The mailbox of ``address``, closed when the app context ends."""
    mailbox = UserMailbox(get_store(), address, get_resources().settings)
    g.setdefault("mailboxes", []).append(mailbox)
    return mailbox


def get_db_session() -> Session:
    """The database session of the current request, opened on first use."""
    if "db_session" not in g:
        g.db_session = get_resources().database.session()
    return g.db_session


def close_db_session(_exc: BaseException | None = None) -> None:
    """Close the request's database session, if one was opened."""
    session = g.pop("db_session", None)
    if session is not None:
        session.close()
    for mailbox in g.pop("mailboxes", []):
        mailbox.close()


def ensure_schema() -> None:
    """Bring the database schema up to date, at most once per app (idempotent)."""
    resources = get_resources()
    if resources.schema_ready:
        return
    from mailrs.db.migrate import upgrade  # Alembic (~30 MiB) only for the CLI commands

    with resources.schema_lock:
        if not resources.schema_ready:
            upgrade(resources.settings.database_url)
            resources.schema_ready = True
