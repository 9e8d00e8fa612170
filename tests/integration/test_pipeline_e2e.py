"""The whole pipeline with real processes: Celery workers, a DNS server, SMTP sinks.

Runs on the embedded broker and on Redis. Messages are handed over as smtpd does
(``accept_message`` then ``publish_and_mark``); remote mail goes through aliases that forward to
another domain, leaves through MX lookup, is retried
from the database by the sweeper, and bounces to the local sender's Maildir. Workers are
SIGKILLed in the middle of delivery and of relay; after a restart every recipient has
the message exactly once. Flower, started against the Redis broker, lists the tasks.
"""

from __future__ import annotations

import json
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
from celery import Celery
from sqlalchemy import select
from support.brokers import BROKERS, broker_url_for
from support.config import free_port, provision
from support.dns import DnsServer
from support.pipeline import add_config
from support.processes import VENV_BIN, Proc, mailrs_argv, running, service_env, wait_until
from support.smtp_sink import Script, SmtpSink

from mailrs.accounts.aliases import add_alias
from mailrs.broker.options import celery_options
from mailrs.config import Settings, load_settings
from mailrs.db.engine import Database
from mailrs.db.models import Message
from mailrs.queue.accept import Envelope, accept_message
from mailrs.queue.publish import publish_and_mark
from mailrs.queue.spool import Spool
from mailrs.store.maildir import MaildirStore

ZONE = [
    "remote.test MX 10 mx1.remote.test.",
    "remote.test MX 20 mx2.remote.test.",
    "mx1.remote.test A 127.0.0.2",
    "mx2.remote.test A 127.0.0.1",
]
BODY = b"From: alice@example.test\r\nTo: team@example.test\r\nSubject: e2e\r\n\r\nhello all\r\n"
FAST_SWEEP = {"MAILRS_CELERY_SWEEP_INTERVAL_SECS": "1", "MAILRS_CELERY_SWEEP_GRACE_SECS": "2"}


@dataclass
class Site:
    config: Path
    settings: Settings
    db: Database
    store: MaildirStore
    sink_port: int

    def inbox(self, user: str) -> list[bytes]:
        return [self.store.read(user, "INBOX", m.key) for m in self.store.list_messages(user)]

    def send(self, *rcpts: str, data: bytes = BODY) -> str:
        """Hand a message over as smtpd does (its RCPT alias checks belong to smtpd)."""
        spool = Spool(self.settings.spool_path)
        spool.ensure()
        envelope = Envelope("alice@example.test", rcpts, "127.0.0.1", "client.test")
        queue_id = accept_message(self.db, spool, envelope, data)
        # A private app: the shared one's connection pool would outlive this test's broker.
        with Celery("mailrs-test", set_as_current=False) as client:
            client.config_from_object("celeryconfig")
            client.conf.update(celery_options(self.settings))
            assert publish_and_mark(client, self.db, [queue_id]).sent == (queue_id,)
        return queue_id

    def messages(self) -> list[Message]:
        with self.db.session() as session:
            rows = list(session.scalars(select(Message).order_by(Message.id)))
            for row in rows:
                assert row.deliveries is not None
            return rows


pytestmark = [pytest.mark.slow, pytest.mark.dns_zone(ZONE)]  # slow: starts several processes


def make_site(tmp_path: Path, broker: str, dns: DnsServer) -> Site:
    config = provision(tmp_path, broker_url_for(broker), users=("alice@example.test",))
    sink_port = free_port()
    add_config(
        config,
        "relay",
        dns_servers=[dns.address],
        smtp_port=sink_port,
        connect_timeout_secs=5.0,
        retry_base_secs=1.0,
        retry_jitter=0.0,
    )
    settings = load_settings(config, environ={})
    db = Database.from_settings(settings)
    with db.session() as session:
        add_alias(session, "team@example.test", "alice@example.test")
        add_alias(session, "team@example.test", "bob@remote.test")
        add_alias(session, "team@example.test", "later@remote.test")
        add_alias(session, "gone@example.test", "gone@remote.test")
        add_alias(session, "fwd@example.test", "bob@remote.test")
        session.commit()
    return Site(config, settings, db, MaildirStore(settings.maildir_path), sink_port)


def worker(site: Site, *args: str, **env: str):  # type: ignore[no-untyped-def]
    return running(
        mailrs_argv("worker", "--config", str(site.config), *args),
        "ready.",
        env=service_env(site.config, **FAST_SWEEP, **env),
    )


@pytest.mark.parametrize("broker", BROKERS)
def test_local_relay_retry_and_bounce(tmp_path: Path, broker: str, dns: DnsServer) -> None:
    site = make_site(tmp_path, broker, dns)
    script = Script(
        rcpt_replies={
            "later@remote.test": "450 4.2.1 try again soon",
            "gone@remote.test": "550 5.1.1 no such user",
        }
    )
    with SmtpSink(site.sink_port, script) as sink, worker(site) as w:
        site.send("team@example.test", "gone@example.test")
        # Local copy at once; bob relayed (first MX refuses, second accepts); later deferred.
        assert wait_until(lambda: any(m.rcpt_tos == ["bob@remote.test"] for m in sink.messages))
        assert wait_until(lambda: len(site.inbox("alice@example.test")) == 2), w.output
        copy, dsn = sorted(site.inbox("alice@example.test"), key=lambda d: b"report" in d)
        assert copy.endswith(BODY)
        assert b"Status: 5.1.1" in dsn and b"Diagnostic-Code: smtp; 550 5.1.1 no such user" in dsn
        script.rcpt_replies.pop("later@remote.test")  # the retry, from the DB schedule, succeeds
        assert wait_until(
            lambda: any(m.rcpt_tos == ["later@remote.test"] for m in sink.messages), 30
        ), w.output
        assert wait_until(lambda: all(m.finished_at for m in site.messages()), 30)
    original, bounce = site.messages()
    assert original.state == "delivered" and bounce.mail_from == ""
    states = {d.address: d.state for d in original.deliveries}
    assert states == {
        "alice@example.test": "delivered",
        "bob@remote.test": "relayed",
        "later@remote.test": "relayed",
        "gone@remote.test": "failed",
    }
    assert original.attempts == 1  # one retry round, scheduled in the database
    assert sorted(r for m in sink.messages for r in m.rcpt_tos) == [
        "bob@remote.test",
        "later@remote.test",
    ]
    site.db.dispose()


@pytest.mark.parametrize("stage", ["deliver", "relay"])
@pytest.mark.parametrize("broker", BROKERS)
def test_worker_killed_mid_stage_delivers_exactly_once(
    tmp_path: Path, broker: str, stage: str, dns: DnsServer
) -> None:
    site = make_site(tmp_path, broker, dns)
    faults = tmp_path / "faults"
    faults.mkdir()
    crash_env = service_env(
        site.config, MAILRS_FAULT_PAUSE_STAGE=stage, MAILRS_FAULT_DIR=str(faults), **FAST_SWEEP
    )
    with SmtpSink(site.sink_port) as sink:
        doomed = Proc(mailrs_argv("worker", "--config", str(site.config)), env=crash_env)
        try:
            doomed.wait_for("ready.")
            site.send("alice@example.test", "fwd@example.test")
            assert wait_until(lambda: any(faults.iterdir()), timeout=30), doomed.output
            doomed.kill()  # SIGKILL while the stage is running
        finally:
            doomed.stop()
        with worker(site) as w:
            assert wait_until(lambda: all(m.finished_at for m in site.messages()), 60), w.output
            time.sleep(2)  # give a duplicate every chance to appear
    (message,) = site.messages()
    assert message.state == "delivered"
    assert len(site.inbox("alice@example.test")) == 1
    assert [m.rcpt_tos for m in sink.messages] == [["bob@remote.test"]]
    retried = {d.address: d.attempts for d in message.deliveries}
    kind_address = "alice@example.test" if stage == "deliver" else "bob@remote.test"
    assert retried[kind_address] == 2
    site.db.dispose()


def _flower_tasks(port: int) -> dict[str, dict[str, object]]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/tasks", timeout=5) as resp:
            return json.loads(resp.read())  # type: ignore[no-any-return]
    except OSError:
        return {}


@pytest.mark.redis
def test_flower_lists_the_pipeline_tasks(tmp_path: Path, dns: DnsServer) -> None:
    site = make_site(tmp_path, "redis", dns)
    port = free_port()
    flower = [
        str(VENV_BIN / "celery"),
        "-A",
        "mailrs",
        "flower",
        f"--port={port}",
        "--address=127.0.0.1",
    ]
    env = service_env(site.config, FLOWER_UNAUTHENTICATED_API="true")
    with worker(site), running(flower, "Visit me at", env=env, cwd=tmp_path) as fl:
        fl.wait_for("Connected to redis")

        def finished() -> dict[str, str]:
            tasks = _flower_tasks(port).values()
            return {
                str(t.get("args")): str(t.get("name")) for t in tasks if t.get("state") == "SUCCESS"
            }

        def seen(queue_ids: list[str]) -> bool:
            """Some finished pipeline task names each of these messages in its arguments."""
            done = [args for args, name in finished().items() if name == "mailrs.pipeline"]
            return bool(queue_ids) and all(any(q in args for args in done) for q in queue_ids)

        sent: list[str] = []
        # Events are pub/sub: send again until Flower's receiver (subscribing just after
        # it logs "Connected") has seen a whole pipeline.
        while len(sent) < 6 and not seen(sent[-1:]):
            sent.append(site.send("alice@example.test"))
            wait_until(lambda: seen(sent[-1:]), 5)
        assert seen(sent[-1:]), fl.output  # each message is visible by its queue id
        assert wait_until(lambda: len(site.inbox("alice@example.test")) == len(sent))
    site.db.dispose()
