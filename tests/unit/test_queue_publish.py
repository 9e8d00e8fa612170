"""``publish_and_mark``: the one way committed messages reach the broker and get marked."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest
from sqlalchemy import select, update

from mailrs.celery import configure
from mailrs.config import Settings
from mailrs.db.engine import Database
from mailrs.db.models import Message, utcnow
from mailrs.queue.accept import Envelope, accept_message
from mailrs.queue.canvas import MAX_BATCH
from mailrs.queue.publish import publish_and_mark
from mailrs.queue.spool import Spool, new_queue_id
from mailrs.queue.sweep import unfinished_messages
from smtpd.backlog import count_backlog


@pytest.fixture
def spool(settings: Settings) -> Spool:
    spool = Spool(settings.spool_path)
    spool.ensure()
    return spool


def accept(database: Database, spool: Spool) -> str:
    envelope = Envelope("a@remote.test", ("alice@example.test",), "127.0.0.1", "me")
    return accept_message(database, spool, envelope, b"Subject: p\r\n\r\npublish\r\n")


def times(database: Database, queue_id: str) -> tuple[dt.datetime | None, dt.datetime | None]:
    with database.session() as session:
        message = session.scalar(select(Message).where(Message.queue_id == queue_id))
        assert message is not None
        return message.published_at, message.next_attempt_at


def set_due(database: Database, queue_id: str, when: dt.datetime) -> None:
    with database.session() as session:
        session.execute(
            update(Message).where(Message.queue_id == queue_id).values(next_attempt_at=when)
        )
        session.commit()


def chains(settings: Settings) -> list[str]:
    """The task payloads waiting in the embedded broker, oldest first."""
    folder = settings.broker_dir / "queue"
    return [path.read_text() for path in sorted(folder.iterdir()) if path.suffix == ".msg"]


def test_sends_one_chain_and_marks_the_rows(
    settings: Settings, database: Database, spool: Spool
) -> None:
    app = configure(settings)
    fresh, due, later = (accept(database, spool) for _ in range(3))
    set_due(database, due, utcnow() - dt.timedelta(minutes=5))
    scheduled = utcnow() + dt.timedelta(hours=1)  # e.g. a worker deferred it again meanwhile
    set_due(database, later, scheduled)
    before = utcnow()

    published = publish_and_mark(app, database, [fresh, due, later, fresh])

    assert published.sent == (fresh, due, later) and published.unsent == ()
    assert published.error is None and published.marked
    (chain,) = chains(settings)
    assert all(queue_id in chain for queue_id in (fresh, due, later))
    for queue_id in (fresh, due, later):
        published_at, _ = times(database, queue_id)
        assert published_at is not None and published_at >= before
    assert times(database, fresh)[1] is None
    assert times(database, due)[1] is None  # the retry that was due is on the broker now
    assert times(database, later)[1] == scheduled  # a retry scheduled since is kept


def test_a_big_run_goes_out_in_chains_of_max_batch(settings: Settings, database: Database) -> None:
    app = configure(settings)
    ids = [new_queue_id() for _ in range(MAX_BATCH + 1)]  # no rows: nothing to mark
    published = publish_and_mark(app, database, ids)
    assert published.sent == tuple(ids)
    sent = chains(settings)
    assert len(sent) == 2
    assert ids[0] in sent[0] and ids[-1] not in sent[0]
    assert ids[-1] in sent[1] and ids[0] not in sent[1]


def test_broker_down_leaves_the_rows_for_the_sweeper(
    settings: Settings, database: Database, spool: Spool
) -> None:
    app = configure(settings)
    queue_id = accept(database, spool)
    due = utcnow() - dt.timedelta(minutes=1)
    set_due(database, queue_id, due)
    shutil.rmtree(settings.broker_dir)  # the embedded broker cannot be made again:
    settings.broker_dir.write_text("a file where its folder should be")

    published = publish_and_mark(app, database, [queue_id])

    assert published.sent == () and published.unsent == (queue_id,)
    assert published.error is not None
    assert times(database, queue_id) == (None, due)  # still unpublished and due


def test_broker_down_marks_a_new_message_due_for_the_next_sweep(
    settings: Settings, database: Database, spool: Spool
) -> None:
    app = configure(settings)
    queue_id = accept(database, spool)
    assert unfinished_messages(database, grace_secs=3600) == []  # its receiver publishes it
    shutil.rmtree(settings.broker_dir)
    settings.broker_dir.write_text("a file where its folder should be")

    assert publish_and_mark(app, database, [queue_id]).unsent == (queue_id,)

    published_at, due = times(database, queue_id)
    assert published_at is None and due is not None and due <= utcnow()
    # A sweep takes it at once (smtpd's start-up sweep after a broker outage), and it
    # still counts as backlog: the pipeline has not got it.
    assert unfinished_messages(database, grace_secs=3600) == [queue_id]
    assert count_backlog(database, 10) == 1
