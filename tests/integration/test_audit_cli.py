"""``mailrs pipeline`` and ``mailrs logins``, run as the real commands: the admin area's
pipeline figures and login audit on the command line, as text and as JSON."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from pathlib import Path

from support.config import provision
from support.processes import mailrs_argv, service_env

from mailrs.config import load_settings
from mailrs.db.engine import Database
from mailrs.db.models import LoginEvent, Message, MessageEvent, utcnow
from mailrs.queue.spool import new_queue_id
from mailrs.queue.states import MessageState

ALICE = "alice@example.test"


def run(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``mailrs ARGS --config CONFIG`` as a child process."""
    return subprocess.run(
        mailrs_argv(*args, "--config", str(config)),
        env=service_env(config),
        cwd=config.parent,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_pipeline_and_logins_commands(tmp_path: Path) -> None:
    config = provision(tmp_path, users=(ALICE,))
    db = Database.from_settings(load_settings(config, environ={}))
    with db.session() as session:
        received = utcnow() - dt.timedelta(minutes=10)
        message = Message(queue_id=new_queue_id(), mail_from="x@remote.test", size=42)
        message.state = MessageState.RECEIVED
        message.received_at = received
        session.add(message)
        session.flush()
        for stage, secs in (("validated", 1), ("deferred", 3), ("deferred", 5)):
            at = received + dt.timedelta(seconds=secs)
            session.add(MessageEvent(message_id=message.id, stage=stage, detail="", at=at))
        for address, outcome in ((ALICE, "failed"), (ALICE, "ok"), ("eve@example.test", "failed")):
            session.add(
                LoginEvent(address=address, client_addr="192.0.2.9", via="web", outcome=outcome)
            )
        session.commit()
    db.dispose()

    text = run(config, "pipeline")
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert lines[0].split() == ["stage", "count", "mean", "s", "worst", "s", "(last", "24", "h)"]
    assert lines[1].split() == ["deferred", "2", "4.00", "5.00"]
    assert lines[2].split() == ["validated", "1", "1.00", "1.00"]
    assert "queued: 1  failure events: 2" in text.stdout
    assert "messages by state: received=1" in text.stdout
    figures = json.loads(run(config, "pipeline", "--json", "--hours", "1").stdout)
    assert figures["window_hours"] == 1 and figures["queued"] == 1 and figures["failures"] == 2
    assert {s["stage"]: s["count"] for s in figures["stages"]} == {"deferred": 2, "validated": 1}
    assert figures["flower_url"] == ""
    assert run(config, "pipeline", "--hours", "0").returncode == 2

    audit = run(config, "logins")
    assert audit.returncode == 0, audit.stderr
    rows = [line.split() for line in audit.stdout.splitlines()]
    assert [(r[1], r[3]) for r in rows] == [
        ("failed", "eve@example.test"),  # newest first
        ("ok", ALICE),
        ("failed", ALICE),
    ]
    assert all(r[2] == "web" and r[4] == "192.0.2.9" for r in rows)
    mine = run(config, "logins", "--address", "Alice@Example.test", "--json", "--limit", "1")
    assert [json.loads(line)["outcome"] for line in mine.stdout.splitlines()] == ["ok"]
    nobody = run(config, "logins", "--address", "nobody@example.test")
    assert nobody.stdout.strip() == "no login attempts recorded"
