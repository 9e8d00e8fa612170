"""Durability: 250 only when stored; a dead broker loses nothing; a broken store gives 451."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import select
from support.brokers import redis_test_url
from support.config import free_port
from support.processes import mailrs_argv, python_m, running, wait_until
from support.smtp import ALICE, Server, reply_of, smtp_server

from mailrs.db.engine import Database
from mailrs.db.models import Message
from smtpd import replies


def send(server: Server, subject: str) -> tuple[int, bytes]:
    """One message to alice on the MX; returns the reply to the end of DATA."""
    with server.client("mx") as smtp:
        smtp.ehlo("c.example.org")
        assert smtp.mail("sender@remote.test")[0] == 250
        assert smtp.rcpt(ALICE)[0] == 250
        return smtp.data(f"Subject: {subject}\r\n\r\nbody\r\n".encode())


def rows(server: Server) -> list[Message]:
    db = Database.from_settings(server.settings)
    with db.session() as session:
        found = list(session.scalars(select(Message).order_by(Message.id)))
    db.dispose()
    return found


def spool_files(server: Server) -> list[Path]:
    spool = server.settings.spool_path
    return sorted((spool / "queue").glob("*")) + sorted((spool / "tmp").glob("*"))


@pytest.mark.slow
@pytest.mark.redis
def test_redis_unreachable_accepts_then_delivers_each_once(tmp_path: Path) -> None:
    good_url = redis_test_url()
    dead_url = f"redis://127.0.0.1:{free_port()}/0"
    with smtp_server(tmp_path, broker_url=dead_url) as server:
        for n in range(3):
            code, text = send(server, f"while down {n}")
            assert code == 250, text
        assert wait_until(lambda: server.output().count("cannot publish") >= 3, 30)
    assert [m.published_at for m in rows(server)] == [None] * 3
    # The broker is back: smtpd's start-up sweep publishes what was never published.
    env = dict(server.env, MAILRS_CELERY_BROKER_URL=good_url)
    config = str(server.config)
    with running(python_m("smtpd", "--config", config), "SMTP server listening", env=env) as smtpd:
        assert "re-published 3 message(s)" in smtpd.wait_for("startup sweep")
        assert all(m.published_at is not None for m in rows(server))
        with running(mailrs_argv("worker", "--config", config), "ready.", env=env) as worker:
            assert server.wait_count(ALICE, 3), worker.output
            # The worker's own start-up sweep and periodic sweeps must not add copies.
            assert wait_until(lambda: "sweeper" in worker.output, 10)
            assert wait_until(lambda: all(m.state == "delivered" for m in rows(server)), 30)
            assert server.count(ALICE) == 3
    subjects = sorted(
        raw.split(b"Subject: ")[1].split(b"\r\n")[0] for raw in server.messages(ALICE)
    )
    assert subjects == [b"while down 0", b"while down 1", b"while down 2"]


@pytest.mark.slow
def test_embedded_broker_removed_accepts_then_delivers_each_once(tmp_path: Path) -> None:
    with smtp_server(tmp_path) as server:
        broker_dir = server.settings.broker_dir
        shutil.rmtree(broker_dir)
        for n in range(2):
            code, text = send(server, f"no broker {n}")
            assert code == 250, text
        # smtpd makes the broker folder again and publishes (mailrs.broker.embedded).
        assert wait_until(lambda: all(m.published_at is not None for m in rows(server)), 30)
        assert "cannot publish" not in server.output()
        assert (broker_dir / "queue").is_dir()
        worker_argv = mailrs_argv("worker", "--config", str(server.config))
        with running(worker_argv, "ready.", env=server.env) as worker:
            assert server.wait_count(ALICE, 2), worker.output
            code, _ = send(server, "broker back")  # and smtpd publishes again
            assert code == 250
            assert server.wait_count(ALICE, 3), worker.output
            assert wait_until(lambda: all(m.state == "delivered" for m in rows(server)), 30)
            assert server.count(ALICE) == 3


pytestmark = pytest.mark.smtp_server()  # SQLite, no worker: messages stay spooled


def test_unwritable_spool_gives_451_and_leaves_nothing(server: Server) -> None:
    before = len(rows(server))
    queue = server.settings.spool_path / "queue"
    queue.rename(queue.with_name("queue.saved"))
    queue.write_text("not a directory")  # every write into queue/ now fails
    try:
        assert send(server, "spool broken") == reply_of(replies.LOCAL_ERROR)
        assert len(rows(server)) == before
        assert list((server.settings.spool_path / "tmp").iterdir()) == []
    finally:
        queue.unlink()
        queue.with_name("queue.saved").rename(queue)
    assert send(server, "spool repaired")[0] == 250
    assert len(rows(server)) == before + 1


def test_database_write_failure_gives_451_and_no_spool_file(server: Server) -> None:
    before_rows, before_files = len(rows(server)), spool_files(server)
    db_path = server.settings.database_url.removeprefix("sqlite:///")
    with sqlite3.connect(db_path) as conn:
        conn.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON messages "
            "BEGIN SELECT RAISE(ABORT, 'disk full'); END"
        )
    try:
        code, text = send(server, "db broken")
        assert (code, text) == reply_of(replies.LOCAL_ERROR)
        assert len(rows(server)) == before_rows
        assert spool_files(server) == before_files
    finally:
        with sqlite3.connect(db_path) as conn:
            conn.execute("DROP TRIGGER refuse")
    assert send(server, "db repaired")[0] == 250
    assert "Traceback" not in server.output()
