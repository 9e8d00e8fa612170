"""Per-stage cost of a message: CPU ms and wall ms of accept and of each pipeline stage.

Runs everything in this one process, without a broker or an SMTP session, so that the
figures are the code's own and not the scheduler's: N messages are accepted as smtpd's
group commit does (spool files written and fsynced, the folder synced once, one
transaction per batch), then each batch goes through the stages as the
``mailrs.pipeline`` task runs them (claims, validate + spam_check, route, deliver).
For each step it prints CPU ms per message (this process, every thread: the Maildir
write threads included) and wall ms per message. ``--history N`` first adds N
delivered messages to the tables and alice's ``cur/`` (as ``smtp_load.py --history``),
to show whether a step's cost grows with what is already there.

    .venv/bin/python bench/stages.py --messages 2000 --batch 20
    .venv/bin/python bench/stages.py --history 100000
    .venv/bin/python bench/stages.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test

Results are printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.smtp_load import USER, make_message, postgres_schema, prefill  # noqa: E402
from mailrs.accounts.users import add_user  # noqa: E402
from mailrs.celery import configure  # noqa: E402
from mailrs.config import load_settings  # noqa: E402
from mailrs.db.engine import Database  # noqa: E402
from mailrs.db.migrate import upgrade  # noqa: E402
from mailrs.queue.accept import Envelope, record_messages  # noqa: E402
from mailrs.queue.canvas import DELIVER  # noqa: E402
from mailrs.queue.claims import Claims  # noqa: E402
from mailrs.queue.spool import Spool, new_queue_id  # noqa: E402
from mailrs.store.maildir import MaildirStore  # noqa: E402
from workers.context import worker_context  # noqa: E402
from workers.deliver import deliver_messages  # noqa: E402
from workers.pipeline import check_messages  # noqa: E402
from workers.route import route_batch  # noqa: E402

DOMAIN = USER.partition("@")[2]


class Costs:
    """CPU and wall seconds spent in each named step."""

    def __init__(self) -> None:
        self.cpu: dict[str, float] = defaultdict(float)
        self.wall: dict[str, float] = defaultdict(float)

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Add what the block spends to ``name``."""
        cpu, wall = time.process_time(), time.perf_counter()
        try:
            yield
        finally:
            self.cpu[name] += time.process_time() - cpu
            self.wall[name] += time.perf_counter() - wall


def accept_batch(spool: Spool, db: Database, data: bytes, count: int) -> list[str]:
    """What smtpd's hand-off does for ``count`` messages that arrived together."""
    envelope = Envelope("bob@remote.test", (USER,), "192.0.2.1", "client.remote.test")
    spooled = []
    for _ in range(count):
        queue_id = new_queue_id()
        spooled.append((queue_id, envelope, spool.write(queue_id, data, sync_dir=False)))
    spool.sync_dir()
    record_messages(db, spool, spooled)
    return [queue_id for queue_id, _, _ in spooled]


def run_batch(queue_ids: list[str], costs: Costs) -> None:
    """The stages of ``workers.pipeline.run_pipeline``, each timed."""
    with Claims(worker_context().spool) as claims:
        with costs.step("claims"):
            mine = claims.take(queue_ids)
        with costs.step("validate+spam_check"):
            check_messages(mine)
        with costs.step("route"):
            routed = route_batch(mine, claims)
        with costs.step("deliver"):
            local = [q for name, q in routed.steps if name == DELIVER]
            deliver_messages(local, claims, routed.marked)


def make_site(folder: Path, database_url: str) -> Any:
    """A config, a migrated database and alice's account; returns the settings."""
    config = folder / "mailrs.toml"
    lines = [
        'mode = "development"',
        "[smtp]",
        f'local_domains = ["{DOMAIN}"]',
        'hostname = "mx.bench.test"',
        "[storage]",
        'data_dir = "data"',
    ]
    if database_url:
        lines += ["[database]", f'url = "{database_url}"']
    config.write_text("\n".join(lines) + "\n")
    settings = load_settings(config, environ={})
    upgrade(settings.database_url)
    configure(settings)
    return settings


def measure(args: argparse.Namespace, database_url: str, history: int) -> Costs:
    """One run: ``history`` old messages, then ``args.messages`` new ones; the costs."""
    with tempfile.TemporaryDirectory(prefix="mailrs-stages-") as tmp:
        settings = make_site(Path(tmp), database_url)
        db = Database.from_settings(settings)
        with db.session() as session:
            add_user(session, MaildirStore(settings.maildir_path), USER, "bench password")
        if history:
            started = time.perf_counter()
            cur = settings.maildir_path / DOMAIN / USER.partition("@")[0] / "cur"
            prefill(db, cur, history)
            print(f"history: {history} messages in {time.perf_counter() - started:.1f} s")
        spool = Spool(settings.spool_path)
        spool.ensure()
        data = make_message(args.size)
        costs = Costs()
        step: Callable[[str], Any] = costs.step
        for start in range(0, args.messages, args.batch):
            count = min(args.batch, args.messages - start)
            with step("accept (spool + commit)"):
                queue_ids = accept_batch(spool, db, data, count)
            run_batch(queue_ids, costs)
        delivered = len(list((settings.maildir_path / DOMAIN).glob("*/new/*")))
        if delivered != args.messages:
            print(f"only {delivered} of {args.messages} delivered", file=sys.stderr)
        worker_context().db.dispose()
        db.dispose()
    return costs


def main() -> int:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=20, help="messages per group commit")
    parser.add_argument("--size", type=int, default=2048)
    parser.add_argument(
        "--history",
        type=int,
        nargs="*",
        default=[0],
        help="runs with this many messages already delivered (e.g. 0 1000 10000 100000)",
    )
    parser.add_argument("--postgres", metavar="URL", help="a fresh schema here, not SQLite")
    args = parser.parse_args()
    print(
        f"{args.messages} messages of {args.size} bytes in batches of {args.batch}, "
        f"{'PostgreSQL' if args.postgres else 'SQLite'}, pid {os.getpid()}"
    )
    for history in args.history:
        with postgres_schema(args.postgres) as database_url:
            costs = measure(args, database_url, history)
        n = args.messages
        print(f"history {history}:  step: CPU ms/msg  wall ms/msg")
        for name in costs.cpu:
            cpu, wall = costs.cpu[name] * 1000 / n, costs.wall[name] * 1000 / n
            print(f"  {name:26s} {cpu:7.3f}  {wall:7.3f}")
        total_cpu, total_wall = sum(costs.cpu.values()), sum(costs.wall.values())
        print(f"  {'total':26s} {total_cpu * 1000 / n:7.3f}  {total_wall * 1000 / n:7.3f}")
        print(f"  messages/s on one core, this process: {n / total_wall:.0f}")
    print(f"load average: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
