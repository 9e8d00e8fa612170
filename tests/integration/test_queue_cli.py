"""``mailrs queue list|show|retry|delete|flush`` run as the real command on a real queue."""

from __future__ import annotations

import subprocess
from pathlib import Path

from sqlalchemy import select
from support.config import free_port, provision
from support.dns import DnsServer
from support.pipeline import add_config, drive
from support.processes import mailrs_argv

from mailrs.celery import configure
from mailrs.config import load_settings
from mailrs.db.engine import Database
from mailrs.db.models import Message
from mailrs.queue.accept import Envelope, accept_message
from mailrs.queue.spool import Spool


def mailrs(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        mailrs_argv(*args, "--config", str(config)),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=config.parent,
    )


def test_queue_commands(tmp_path: Path) -> None:
    config = provision(tmp_path, users=("alice@example.test",))
    with DnsServer(["down.test MX 10 mx.down.test.", "mx.down.test A 127.0.0.2"]) as dns:
        add_config(config, "relay", dns_servers=[dns.address], smtp_port=free_port())
        settings = load_settings(config, environ={})
        configure(settings)
        db = Database.from_settings(settings)
        spool = Spool(settings.spool_path)
        spool.ensure()
        envelope = Envelope("alice@example.test", ("bob@down.test",), "127.0.0.1", "me")
        deferred = accept_message(db, spool, envelope, b"Subject: q\r\n\r\nwaiting\r\n")
        drive(deferred)  # the only MX refuses: deferred, retry scheduled
        local = accept_message(
            db, spool, Envelope("x@remote.test", ("alice@example.test",)), b"Subject: l\r\n\r\nx"
        )
        drive(local)  # delivered: not in the queue any more

    listing = mailrs(config, "queue", "list")
    assert listing.returncode == 0, listing.stderr
    assert deferred in listing.stdout and local not in listing.stdout
    assert "<alice@example.test>" in listing.stdout and "0/1 done" in listing.stdout
    assert local in mailrs(config, "queue", "list", "--all").stdout

    shown = mailrs(config, "queue", "show", deferred)
    assert shown.returncode == 0, shown.stderr
    assert "remote <bob@down.test> deferred 4.4.1 attempts=1" in shown.stdout
    assert "mx.down.test[127.0.0.2] unavailable" in shown.stdout
    assert "Next attempt:" in shown.stdout and "History:" in shown.stdout

    retried = mailrs(config, "queue", "retry", deferred)
    assert retried.returncode == 0 and "sent to the workers" in retried.stdout
    queued = list((settings.broker_dir / "queue").iterdir())
    assert len(queued) == 1 and deferred.encode() in queued[0].read_bytes()
    with db.session() as session:
        message = session.scalar(select(Message).where(Message.queue_id == deferred))
        assert message is not None and message.next_attempt_at is None

    flushed = mailrs(config, "queue", "flush")
    assert flushed.returncode == 0 and "1 message(s): sent" in flushed.stdout

    for bad in ("retry", "show", "delete"):
        result = mailrs(config, "queue", bad, "NOSUCHID")
        assert result.returncode == 1 and "not a queue id" in result.stderr
        assert "Traceback" not in result.stderr
    missing = mailrs(config, "queue", "show", "0" * 18)
    assert missing.returncode == 1 and "no message" in missing.stderr
    finished = mailrs(config, "queue", "retry", local)
    assert finished.returncode == 1 and "is finished" in finished.stderr

    deleted = mailrs(config, "queue", "delete", deferred)
    assert deleted.returncode == 0 and "deleted" in deleted.stdout
    assert not spool.exists(deferred)
    assert "queue is empty" in mailrs(config, "queue", "list").stdout
    db.dispose()
