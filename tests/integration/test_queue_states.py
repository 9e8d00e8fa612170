"""The state enums: their values are what the database columns hold, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect, select, text, update
from sqlalchemy.exc import StatementError
from support.pipeline import drive

from mailrs.accounts.users import add_user
from mailrs.celery import configure
from mailrs.config import Settings
from mailrs.db.engine import Database
from mailrs.db.models import Delivery, Message
from mailrs.queue.accept import Envelope, accept_message
from mailrs.queue.spool import Spool
from mailrs.queue.states import (
    BUSY,
    DONE,
    FINAL,
    IN_FLIGHT,
    DeliveryKind,
    DeliveryState,
    MessageState,
    RecipientState,
)
from mailrs.store.maildir import MaildirStore

# The strings the columns have held since the first migration: changing one needs a migration.
STORED = {
    MessageState: {"received", "validated", "checked", "routed", "delivered", "failed"},
    DeliveryState: {"pending", "delivering", "deferred", "delivered", "relayed", "failed"},
    RecipientState: {"pending", "delivered", "failed"},
    DeliveryKind: {"local", "remote"},
}
COLUMNS = [
    ("messages", "state", MessageState),
    ("message_recipients", "state", RecipientState),
    ("deliveries", "state", DeliveryState),
    ("deliveries", "kind", DeliveryKind),
]


@pytest.mark.parametrize("enum", list(STORED))
def test_enum_values_are_the_stored_strings(enum: type) -> None:
    assert {member.value for member in enum} == STORED[enum]  # type: ignore[attr-defined]


def test_groups_partition_the_states() -> None:
    assert set(IN_FLIGHT) == set(MessageState) - {MessageState.DELIVERED, MessageState.FAILED}
    assert set(FINAL) == set(DONE) | {DeliveryState.FAILED}
    assert set(BUSY) | set(FINAL) | {DeliveryState.DEFERRED} == set(DeliveryState)


@pytest.mark.parametrize(("table", "column", "enum"), COLUMNS)
def test_every_value_fits_its_migrated_column(
    any_db: Database,  # noqa: F811
    table: str,
    column: str,
    enum: type,
) -> None:
    (found,) = [c for c in inspect(any_db.engine).get_columns(table) if c["name"] == column]
    length = found["type"].length
    assert length is not None
    assert all(len(member.value) <= length for member in enum)  # type: ignore[attr-defined]


def test_rows_hold_the_plain_values_and_load_as_members(
    any_db: Database,  # noqa: F811
    tmp_path: Path,
) -> None:
    spool = Spool(tmp_path / "spool")
    spool.ensure()
    queue_id = accept_message(any_db, spool, Envelope("a@b.test", ("c@d.test",)), b"x\r\n")
    with any_db.session() as session:
        raw = session.execute(
            text(
                "SELECT m.state, r.state FROM messages m JOIN message_recipients r"
                " ON r.message_id = m.id WHERE m.queue_id = :q"
            ),
            {"q": queue_id},
        ).one()
        assert tuple(raw) == ("received", "pending")
        assert type(raw[0]) is str  # no database enum type: a plain VARCHAR
        message = session.scalar(select(Message).where(Message.queue_id == queue_id))
        assert message is not None
        assert message.state is MessageState.RECEIVED
        assert message.recipients[0].state is RecipientState.PENDING
        with pytest.raises(StatementError):
            session.execute(
                update(Message).where(Message.queue_id == queue_id).values(state="lost")
            )


def test_a_finished_pipeline_leaves_only_enum_values(
    settings: Settings, database: Database, store: MaildirStore
) -> None:
    configure(settings)
    with database.session() as session:
        add_user(session, store, "alice@example.test", "alice password")
    spool = Spool(settings.spool_path)
    spool.ensure()
    envelope = Envelope(
        "alice@example.test", ("alice@example.test", "ghost@example.test"), "127.0.0.1", "me"
    )
    queue_id = accept_message(database, spool, envelope, b"Subject: s\r\n\r\nstates\r\n")
    drive(queue_id)  # delivered to alice, ghost fails, a DSN goes back to alice
    with database.session() as session:
        for table, column, enum in COLUMNS:
            values = set(session.scalars(text(f"SELECT DISTINCT {column} FROM {table}")))
            assert values and values <= STORED[enum], (table, column, values)
        states = dict(session.execute(text("SELECT queue_id, state FROM messages")).all())
        assert states[queue_id] == "delivered"
        assert len(states) == 2 and set(states.values()) == {"delivered"}  # with the DSN
        kinds = session.execute(select(Delivery.kind, Delivery.state)).all()
        assert (DeliveryKind.LOCAL, DeliveryState.FAILED) in kinds
        assert (DeliveryKind.LOCAL, DeliveryState.DELIVERED) in kinds
