"""Two runners of one message at once (a sweep re-published it while its pipeline ran).

Real database (SQLite, and PostgreSQL), real Maildir, a real SMTP sink as the
smarthost. Each message goes to a local account and, through an alias, to a remote
address. Whatever the interleaving: one copy in the Maildir, one relay, the trace and
spam headers once, each stage's history event once. First whole runners race (claims
and compare-and-set together); then the stages race holding no claim, to show that the
compare-and-set transitions alone keep each stage to one runner.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select
from support.config import free_port, migrate
from support.db import postgres_schema_url
from support.pipeline import add_config
from support.smtp_sink import SmtpSink

from mailrs.accounts.aliases import add_alias
from mailrs.accounts.users import add_user
from mailrs.celery import configure
from mailrs.config import load_settings
from mailrs.db.engine import Database
from mailrs.db.models import Message
from mailrs.queue.accept import Envelope, accept_message
from mailrs.queue.canvas import RELAY, Step
from mailrs.queue.claims import Claims
from mailrs.queue.spool import Spool
from mailrs.queue.states import MessageState
from mailrs.store.maildir import MaildirStore
from workers.context import worker_context
from workers.deliver import _deliver_claimed
from workers.pipeline import check_messages, run_pipeline
from workers.progress import load_messages
from workers.relay import _relay_claimed, relay_message
from workers.route import route_messages
from workers.spam import spam_check_loaded
from workers.transitions import advance, claim_deliveries, commit_stage
from workers.validate import load_in_states, validate_loaded

ALICE = "alice@example.test"
ROUNDS = 8


@dataclass
class Race:
    db: Database
    spool: Spool
    store: MaildirStore
    sink: SmtpSink

    def accept(self, n: int) -> str:
        envelope = Envelope("carol@remote.test", ("team@example.test",), "192.0.2.9", "c.test")
        data = f"From: carol@remote.test\r\nSubject: race {n}\r\n\r\nbody {n}\r\n".encode()
        return accept_message(self.db, self.spool, envelope, data)

    def message(self, queue_id: str) -> Message:
        with self.db.session() as session:
            found = session.scalar(select(Message).where(Message.queue_id == queue_id))
            assert found is not None
            assert found.events and found.deliveries  # loaded before the session closes
            return found

    def inbox(self) -> list[bytes]:
        return [self.store.read(ALICE, "INBOX", m.key) for m in self.store.list_messages(ALICE)]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def race(
    request: pytest.FixtureRequest, config_path: Path, migrated_template: Path
) -> Iterator[Race]:
    if request.param == "postgres":  # the scale-out configuration: row locks, read committed
        schemas = postgres_schema_url()
        add_config(config_path, "database", url=next(schemas))
    port = free_port()
    add_config(config_path, "relay", smarthost=f"127.0.0.1:{port}", smarthost_tls="none")
    settings = load_settings(config_path, environ={})
    migrate(settings.database_url, migrated_template)
    configure(settings)
    db = Database.from_settings(settings)
    store = MaildirStore(settings.maildir_path)
    with db.session() as session:
        add_user(session, store, ALICE, "alice password")
        add_alias(session, "team@example.test", ALICE)
        add_alias(session, "team@example.test", "bob@remote.test")
        session.commit()
    spool = Spool(settings.spool_path)
    spool.ensure()
    with SmtpSink(port) as sink:
        yield Race(db, spool, store, sink)
    db.dispose()
    if request.param == "postgres":
        next(schemas, None)  # drops the schema


def run_steps(steps: list[Step]) -> None:
    """What the worker would do with the tasks a runner sends (relay, in this process)."""
    for name, queue_id in steps:
        assert name == RELAY, steps
        run_steps(relay_message(queue_id))


def twice[T](job: Callable[..., T], *args: object) -> list[T]:
    """Run ``job(*args)`` in two threads started together, as two runners would; results."""
    barrier = threading.Barrier(2)

    def start(_: int) -> T:
        barrier.wait()
        return job(*args)

    with ThreadPoolExecutor(2) as pool:
        return list(pool.map(start, range(2)))


def assert_once_each(race: Race, queue_ids: list[str]) -> None:
    copies = race.inbox()
    assert len(copies) == len(queue_ids)
    for copy in copies:  # validate's and spam_check's headers, once each
        head = copy.split(b"\r\n\r\n", 1)[0]
        assert head.count(b"\r\nReceived: from c.test") == 1, head
        assert head.count(b"\r\nX-Spam-Status: ") == 1, head
        assert head.count(b"\r\nX-Spam-Score: ") <= 1, head
    relayed = list(race.sink.messages)
    assert sorted(m.rcpt_tos[0] for m in relayed) == ["bob@remote.test"] * len(queue_ids)
    subjects = Counter(m.data.split(b"Subject: ")[1].split(b"\r\n")[0] for m in relayed)
    assert set(subjects.values()) == {1}
    for queue_id in queue_ids:
        message = race.message(queue_id)
        assert message.state == MessageState.DELIVERED and message.finished_at is not None
        assert {d.address: (d.state, d.attempts) for d in message.deliveries} == {
            ALICE: ("delivered", 1),
            "bob@remote.test": ("relayed", 1),
        }
        stages = Counter(event.stage for event in message.events)
        for stage in ("validated", "spam", "routed", "delivered", "relayed", "finished"):
            assert stages[stage] == 1, (stage, stages)


def test_two_pipeline_runs_of_one_message_deliver_and_relay_it_once(race: Race) -> None:
    queue_ids = [race.accept(n) for n in range(ROUNDS)]
    for queue_id in queue_ids:
        for steps in twice(run_pipeline, [queue_id]):
            run_steps(steps)
    assert_once_each(race, queue_ids)
    assert not any(race.spool.exists(q) for q in queue_ids)


def test_stages_without_claims_still_run_once_per_message(race: Race) -> None:
    """Both runners pass the claims (as on a spool without locks): the transitions decide."""
    queue_ids = [race.accept(n) for n in range(ROUNDS)]
    for queue_id in queue_ids:
        twice(check_messages, [queue_id])
        routes = twice(route_messages, [queue_id])
        assert sorted(map(len, routes)) in ([0, 2], [2, 2]), routes  # deliver and relay
        twice(_deliver_claimed, [queue_id], Claims(race.spool))  # holding no lock
        twice(_relay_claimed, queue_id)
    assert_once_each(race, queue_ids)


def test_a_stage_finished_by_another_runner_meanwhile_is_not_written_again(race: Race) -> None:
    """The interleavings pinned down: a runner loads, another commits, the first writes."""
    ctx = worker_context()
    queue_id = race.accept(0)
    with race.db.session() as session:  # check: loaded and worked on ...
        messages = load_in_states(session, [queue_id], MessageState.RECEIVED)
        loaded = {m.id: m.state for m in messages}
        with session.no_autoflush:
            validate_loaded(ctx, session, messages)
            spam_check_loaded(ctx, session, messages)
        check_messages([queue_id])  # ... while another runner does the stage
        assert commit_stage(session, messages, loaded) == []
    with race.db.session() as session:  # route
        (message,) = load_messages(session, [queue_id])
        route_messages([queue_id])
        assert not advance(session, message, MessageState.CHECKED, MessageState.ROUTED)
        session.rollback()
    with race.db.session() as session:  # the deliveries: deliver's and relay's claims
        (message,) = load_messages(session, [queue_id])
        _deliver_claimed([queue_id], Claims(race.spool))
        _relay_claimed(queue_id)
        assert claim_deliveries(session, message.deliveries, message.received_at) == []
        session.rollback()
    assert_once_each(race, [queue_id])
