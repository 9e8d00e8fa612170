"""Models, migrations and the account service on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select, text

from mailrs.accounts.users import (
    add_user,
    authenticate,
    delete_user,
    find_user,
    is_local_domain,
    list_users,
    set_password,
)
from mailrs.db.engine import Database
from mailrs.db.migrate import alembic_config, current_revision, upgrade
from mailrs.db.models import Alias, Domain, Message, MessageEvent, Recipient
from mailrs.errors import AuthFailed, InvalidAddress, SpoolError, UserExists, UserNotFound
from mailrs.queue.accept import Envelope, accept_message
from mailrs.queue.spool import Spool, is_queue_id
from mailrs.store.maildir import MaildirStore


def test_migrations_create_every_table(any_db: Database) -> None:
    tables = set(inspect(any_db.engine).get_table_names())
    assert {
        "users",
        "domains",
        "aliases",
        "messages",
        "message_recipients",
        "message_events",
    } <= tables
    head = ScriptDirectory.from_config(alembic_config(any_db.url)).get_current_head()
    assert current_revision(any_db.url) == head
    upgrade(any_db.url)  # a second upgrade is a no-op
    assert current_revision(any_db.url) == head


def test_sqlite_uses_wal(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    db = Database(url)
    with db.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    db.dispose()


def test_account_lifecycle(any_db: Database, tmp_path: Path) -> None:
    store = MaildirStore(tmp_path / "maildir")
    with any_db.session() as session:
        user = add_user(session, store, "Alice@Example.TEST", "correct horse")
        assert user.address == "alice@example.test"
        assert user.password_hash.startswith("$argon2id$")
        assert store.user_exists("alice@example.test")
        with pytest.raises(UserExists):
            add_user(session, store, "ALICE@example.test", "another pass")
        with pytest.raises(InvalidAddress):
            add_user(session, store, "not-an-address", "whatever123")
        with pytest.raises(ValueError):
            add_user(session, store, "bob@example.test", "short")
        add_user(session, store, "bob@example.test", "bob password")
        assert [u.address for u in list_users(session)] == [
            "alice@example.test",
            "bob@example.test",
        ]
        assert authenticate(session, "alice@example.test", "correct horse").id == user.id
        with pytest.raises(AuthFailed):
            authenticate(session, "alice@example.test", "wrong")
        with pytest.raises(AuthFailed):
            authenticate(session, "nobody@example.test", "correct horse")
        set_password(session, "alice@example.test", "new password")
        assert authenticate(session, "alice@example.test", "new password")
        with pytest.raises(UserNotFound):
            set_password(session, "ghost@example.test", "whatever123")
        assert is_local_domain(session, "EXAMPLE.test", ())
        assert is_local_domain(session, "configured.test", ("configured.test",))
        assert not is_local_domain(session, "elsewhere.test", ())
        delete_user(session, store, "bob@example.test", purge=True)
        assert find_user(session, "bob@example.test") is None
        assert not store.user_exists("bob@example.test")
        with pytest.raises(UserNotFound):
            delete_user(session, store, "bob@example.test")


def test_message_rows_aliases_and_utc(any_db: Database, tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    spool.ensure()
    envelope = Envelope(
        "bob@remote.test", ("a@example.test", "b@example.test"), "192.0.2.1", "client"
    )
    queue_id = accept_message(any_db, spool, envelope, b"Subject: x\r\n\r\nbody\r\n")
    assert is_queue_id(queue_id)
    assert spool.read(queue_id) == b"Subject: x\r\n\r\nbody\r\n"
    with any_db.session() as session:
        message = session.scalar(select(Message).where(Message.queue_id == queue_id))
        assert message is not None
        assert [r.address for r in message.recipients] == ["a@example.test", "b@example.test"]
        assert [e.stage for e in message.events] == ["received"]
        assert message.received_at.tzinfo is not None
        assert abs(message.received_at - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)
        domain = Domain(name="example.test")
        session.add(domain)
        session.flush()
        session.add_all(
            [
                Alias(source="team@example.test", destination=d, domain_id=domain.id)
                for d in ("a@example.test", "b@remote.test")
            ]
        )
        session.delete(message)
        session.commit()
        assert session.scalar(select(Recipient)) is None
        assert session.scalar(select(MessageEvent)) is None
        assert len(session.scalars(select(Alias)).all()) == 2


def test_nothing_half_stored_when_the_database_fails(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    spool.ensure()
    db = Database(f"sqlite:///{tmp_path / 'unmigrated.db'}")  # no tables: the insert fails
    with pytest.raises(SpoolError):
        accept_message(db, spool, Envelope("a@b.test", ("c@d.test",)), b"x\r\n")
    assert list(spool.queue_dir.iterdir()) == []
    assert list(spool.tmp_dir.iterdir()) == []


def test_nothing_half_stored_when_the_spool_fails(any_db: Database, tmp_path: Path) -> None:
    spool = Spool(tmp_path / "missing-spool")  # folders never created: the write fails
    with pytest.raises(SpoolError):
        accept_message(any_db, spool, Envelope("a@b.test", ("c@d.test",)), b"x\r\n")
    with any_db.session() as session:
        assert session.scalar(select(Message)) is None
