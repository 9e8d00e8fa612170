"""Pipeline benchmark: messages/s through spool → validate → spam hook → route → deliver,
beside the plain Celery no-op task rate measured in the same run with the same worker.

Starts ``mailrs worker`` (as ``mailrs up`` runs it: a prefork pool, one child per core)
in a temporary directory. First it times N no-op tasks (the floor any Celery design pays
per hop), then N messages accepted into the spool and database and published exactly as
smtpd does, until every one is in the recipient's Maildir, with the built-in spam scorer.

    .venv/bin/python bench/pipeline.py --messages 500
    .venv/bin/python bench/pipeline.py --broker redis://127.0.0.1:6379/13
    .venv/bin/python bench/pipeline.py --broker redis://127.0.0.1:6379/13 --workers 2 \
        --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test

``--workers N`` starts N ``mailrs worker`` processes (each its default pool: prefork, one
child per core), ``--postgres`` puts the database in a fresh schema there; the run then
also prints the workers' CPU ms per message (every process of each worker's tree).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.smtp_load import cpu_secs, postgres_schema  # noqa: E402
from mailrs.accounts.users import add_user  # noqa: E402
from mailrs.celery import app, configure  # noqa: E402
from mailrs.config import load_settings  # noqa: E402
from mailrs.db.engine import Database  # noqa: E402
from mailrs.db.migrate import upgrade  # noqa: E402
from mailrs.db.models import Message  # noqa: E402
from mailrs.queue.accept import Envelope, record_messages  # noqa: E402
from mailrs.queue.publish import publish_and_mark  # noqa: E402
from mailrs.queue.spool import Spool, new_queue_id  # noqa: E402
from mailrs.store.maildir import MaildirStore  # noqa: E402

USER = "bench@example.test"
REPO = Path(__file__).resolve().parent.parent
NOOP = "bench.noop"


@app.task(name=NOOP, ignore_result=True)
def noop(marker: str = "") -> None:
    """Do nothing; the last task of a run leaves a marker file so the timer can stop."""
    if marker:
        Path(marker).touch()


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_message(size: int, n: int) -> bytes:
    """A well-formed message of about ``size`` bytes."""
    head = (
        f"From: load@remote.test\r\nTo: {USER}\r\nSubject: bench {n}\r\n"
        f"Date: Tue, 24 Nov 2026 10:00:00 +0000\r\nMessage-ID: <{n}@remote.test>\r\n\r\n"
    ).encode()
    line = b"x" * 76 + b"\r\n"
    return head + line * max(1, (size - len(head)) // len(line))


def wait_for_line(proc: subprocess.Popen[bytes], text: bytes, timeout: float = 60) -> None:
    """Read a child's output until ``text`` appears, then keep draining it."""
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"worker exited before printing {text!r}")
        if text in line:
            threading.Thread(target=proc.stdout.read, daemon=True).start()
            return
    raise RuntimeError(f"timed out waiting for {text!r}")


def noop_rate(count: int, marker: Path) -> float:
    """No-op tasks per second, publish to last execution."""
    started = time.perf_counter()
    for _ in range(count - 1):
        noop.apply_async(queue="inbound")
    noop.apply_async(args=(str(marker),), queue="inbound")
    while not marker.exists():
        if time.perf_counter() - started > 600:
            raise RuntimeError("no-op tasks did not finish within 600 s")
        time.sleep(0.005)
    return count / (time.perf_counter() - started)


def pipeline_rate(
    db: Database, spool: Spool, count: int, size: int, batch: int
) -> tuple[float, float]:
    """(accept+publish msg/s, delivered msg/s) for ``count`` messages.

    Messages are spooled one by one, then recorded and published ``batch`` at a time,
    as smtpd's group commit and batched publishing hand them over under load.
    """
    envelope = Envelope("load@remote.test", (USER,), "127.0.0.1", "bench.test", received_by="mx")
    started = time.perf_counter()
    for first in range(0, count, batch):
        spooled = []
        for n in range(first, min(count, first + batch)):
            queue_id = new_queue_id()
            spooled.append((queue_id, envelope, spool.write(queue_id, make_message(size, n))))
        record_messages(db, spool, spooled)
        published = publish_and_mark(app, db, [queue_id for queue_id, _, _ in spooled])
        if published.error is not None:
            raise published.error
    accepted = time.perf_counter() - started
    while True:
        with db.session() as session:
            done = session.scalar(
                select(func.count()).select_from(Message).where(Message.finished_at.is_not(None))
            )
        if done >= count:
            break
        if time.perf_counter() - started > 900:
            raise RuntimeError(f"only {done}/{count} delivered within 900 s")
        time.sleep(0.02)
    return count / accepted, count / (time.perf_counter() - started)


def main() -> int:
    """Run both measurements and print them with their ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--size", type=int, default=2048)
    parser.add_argument("--broker", default="", help="broker URL; empty = embedded")
    parser.add_argument(
        "--batch", type=int, default=10, help="messages handed over together (1 = one by one)"
    )
    parser.add_argument("--no-events", action="store_true", help="task events off (no Flower)")
    parser.add_argument("--workers", type=int, default=1, help="mailrs worker processes")
    parser.add_argument("--solo", action="store_true", help="each worker one process (solo pool)")
    parser.add_argument("--postgres", metavar="URL", help="a fresh schema here, not SQLite")
    args = parser.parse_args()

    with (
        tempfile.TemporaryDirectory(prefix="mailrs-bench-") as tmp,
        postgres_schema(args.postgres) as database_url,
    ):
        root = Path(tmp)
        config = root / "mailrs.toml"
        database = f'[database]\nurl = "{database_url}"\n' if database_url else ""
        config.write_text(
            database
            + f'[smtp]\nlisten_addr = "127.0.0.1:{free_port()}"\nlocal_domains = ["example.test"]\n'
            f'[imap]\nlisten_addr = "127.0.0.1:{free_port()}"\n'
            f'[api]\nlisten_addr = "127.0.0.1:{free_port()}"\n'
            f'[celery]\nbroker_url = "{args.broker}"\nsweep_grace_secs = 3600\n'
            f"task_events = {'false' if args.no_events else 'true'}\n"
        )
        settings = load_settings(config, environ={})
        if args.broker.startswith("redis://"):
            import redis

            redis.Redis.from_url(args.broker).flushdb()
        upgrade(settings.database_url)
        db = Database.from_settings(settings)
        store = MaildirStore(settings.maildir_path)
        with db.session() as session:
            add_user(session, store, USER, "bench password")
        spool = Spool(settings.spool_path)
        spool.ensure()
        configure(settings)
        env = dict(
            os.environ,
            MAILRS_CONFIG=str(config),
            PYTHONUNBUFFERED="1",
            PYTHONPATH=f"{REPO}:{os.environ.get('PYTHONPATH', '')}",
        )
        workers = [
            subprocess.Popen(
                [sys.executable, "-m", "mailrs", "worker", "--config", str(config)]
                + ["--include", "bench.pipeline", "--hostname", f"bench{n}@%h"]
                + (["--pool", "solo"] if args.solo else []),
                env=env,
                cwd=REPO,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            for n in range(args.workers)
        ]
        try:
            for worker in workers:
                wait_for_line(worker, b"ready.")
            noops = noop_rate(args.messages, root / "noop-done")
            cpu_before = cpu_secs([w.pid for w in workers])
            accepted, delivered = pipeline_rate(db, spool, args.messages, args.size, args.batch)
            cpu_ms = (cpu_secs([w.pid for w in workers]) - cpu_before) * 1000 / args.messages
        finally:
            for worker in workers:
                worker.terminate()
            for worker in workers:
                worker.wait(timeout=30)
            db.dispose()

    print(
        f"broker: {args.broker or 'embedded'}  messages: {args.messages}  size: {args.size} B"
        f"  batch: {args.batch}  workers: {args.workers} x {'solo' if args.solo else 'prefork'}"
        f"  database: {'PostgreSQL' if args.postgres else 'SQLite'}"
        f"  task events: {'off' if args.no_events or not args.broker else 'on'}"
    )
    print(f"{'plain Celery no-op tasks/s':<40}{noops:10.1f}")
    print(f"{'accepted + published msg/s':<40}{accepted:10.1f}")
    print(f"{'pipeline msg/s (spool → Maildir)':<40}{delivered:10.1f}")
    print(f"{'ratio pipeline / no-op':<40}{delivered / noops:10.3f}")
    print(f"{'workers CPU ms/msg (pipeline part)':<40}{cpu_ms:10.2f}")
    print(f"load average: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
