"""Memory of the default install: PSS of every ``mailrs up`` process idle, and its peak under load.

    .venv/bin/python bench/memory.py                      # idle only
    .venv/bin/python bench/memory.py --messages 2000      # idle, then the peak under load
    .venv/bin/python bench/memory.py --keep --settle 60   # keep the data folder
    .venv/bin/python bench/memory.py --env MAILRS_SMTP_PROCESSES=2   # a setting changed

It runs ``mailrs up`` with no config in a fresh temporary folder, so ``mailrs up`` writes
its development config there and runs on its defaults (embedded broker, SQLite, TLS
listeners with a self-signed pair), except that every listener gets a free loopback port
(``MAILRS_*_ADDR`` variables) and the per-IP limits are raised so that the load, all from
one IP, is not refused. Once ``mailrs is up`` and ``--settle`` seconds passed, it prints
the PSS, the private (USS) and the RSS of each process of the tree, from
``/proc/PID/smaps_rollup``, and their totals. With ``--messages N`` it then adds one
mailbox, sends N messages of ``--size`` bytes from ``--clients`` SMTP sessions, samples
the tree's PSS every 0.25 s until every message is in the Maildir, and prints the peak
(total and per process). Results are printed, never asserted. Every process it starts it
stops by pid.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import smtp_load
from smtp_load import Result, _load, count_new, descendants, free_port, process_name

USER = "alice@localhost"  # the development config's local domain
smtp_load.USER = USER  # its client sends to (and its messages are addressed to) this mailbox
ADDRESSES = (
    "SMTP_LISTEN_ADDR",
    "SMTP_SUBMISSION_ADDR",
    "SMTP_SUBMISSIONS_ADDR",
    "IMAP_LISTEN_ADDR",
    "IMAP_TLS_LISTEN_ADDR",
    "API_LISTEN_ADDR",
)
# The load comes from one IP: limits high enough not to refuse it, still in force (so
# smtpd keeps its rate limiter, as on the defaults).
LIMITS = {
    "MAILRS_SMTP_MESSAGES_PER_MINUTE_PER_IP": "1000000",
    "MAILRS_SMTP_MESSAGES_PER_MINUTE_PER_USER": "1000000",
    "MAILRS_SMTP_MAX_CONNECTIONS_PER_IP": "1000",
}


def memory_kib(pid: int) -> dict[str, int]:
    """Pss (and its anonymous and file-backed parts), Rss and USS (Private_Clean +
    Private_Dirty) of one process, in KiB."""
    figures = {"Pss": 0, "Pss_Anon": 0, "Pss_File": 0, "Rss": 0, "Uss": 0}
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                key, _, rest = line.partition(":")
                if key in ("Pss", "Pss_Anon", "Pss_File", "Rss"):
                    figures[key] = int(rest.split()[0])
                elif key in ("Private_Clean", "Private_Dirty"):
                    figures["Uss"] += int(rest.split()[0])
    except OSError:
        pass
    return figures


def snapshot(root: int) -> dict[int, dict[str, int]]:
    """The memory figures of every process of the tree below ``root``."""
    return {pid: memory_kib(pid) for pid in descendants(root)}


def print_table(title: str, figures: dict[int, dict[str, int]]) -> None:
    """One line per process (MiB) and the totals.

    PSS anon is what the tree's own pages cost (shared only between the processes of
    the tree, by fork); PSS file is its share of the mapped files (libpython, libc,
    libssl, the extension modules), which every other process on the machine that maps
    the same file shares too: that part falls when other Python processes run."""
    keys = ("Pss", "Pss_Anon", "Pss_File", "Uss", "Rss")
    print(f"\n{title}")
    print(f"{'process':<50} {'PSS':>7} {'anon':>7} {'file':>7} {'USS':>7} {'RSS':>7}")
    for pid, row in figures.items():
        name = process_name(pid)[:50]
        print(f"{name:<50} " + " ".join(f"{row[key] / 1024:7.1f}" for key in keys))
    total = {key: sum(row[key] for row in figures.values()) for key in keys}
    print(f"{'total':<50} " + " ".join(f"{total[key] / 1024:7.1f}" for key in keys[:-1]))


class PeakSampler(threading.Thread):
    """Samples the tree's PSS until stopped; keeps the snapshot with the highest total."""

    def __init__(self, root: int) -> None:
        super().__init__(daemon=True)
        self.root = root
        self.peak: dict[int, dict[str, int]] = {}
        self.peak_total = 0
        self._stopped = threading.Event()

    def run(self) -> None:
        """Sample every 0.25 s."""
        while not self._stopped.wait(0.25):
            figures = snapshot(self.root)
            total = sum(row["Pss"] for row in figures.values())
            if total > self.peak_total:
                self.peak, self.peak_total = figures, total

    def stop(self) -> None:
        """Stop sampling and wait for the thread."""
        self._stopped.set()
        self.join()


def wait_up(up: subprocess.Popen[bytes], log: Path, timeout: float = 120) -> None:
    """Wait for ``mailrs is up`` in the supervisor's output."""
    deadline = time.monotonic() + timeout
    while b"mailrs is up" not in log.read_bytes():
        if up.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"mailrs up did not come up:\n{log.read_text()}")
        time.sleep(0.2)


def add_mailbox(folder: Path) -> Path:
    """Create USER in the running install's database; returns its INBOX new/ folder."""
    from mailrs.accounts.users import add_user
    from mailrs.config import load_settings
    from mailrs.db.engine import Database
    from mailrs.store.maildir import MaildirStore

    settings = load_settings(folder / "mailrs.toml", environ={})
    db = Database.from_settings(settings)
    with db.session() as session:
        add_user(session, MaildirStore(settings.maildir_path), USER, "bench password")
    db.dispose()
    return settings.maildir_path / "localhost" / "alice" / "new"


def load(port: int, new_dir: Path, args: argparse.Namespace) -> tuple[int, float]:
    """Send the messages; returns how many were delivered and the seconds it took."""
    result = Result("mailrs up")
    started = time.perf_counter()
    asyncio.run(_load(port, args.clients, args.messages, args.size, result))
    deadline = time.monotonic() + args.deliver_timeout
    while count_new(new_dir) < result.accepted and time.monotonic() < deadline:
        time.sleep(0.1)
    if result.errors:
        print(f"{result.errors} messages refused", file=sys.stderr)
    return count_new(new_dir), time.perf_counter() - started


def main() -> int:
    """Start ``mailrs up`` on a fresh folder, print its memory idle and under load."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--settle", type=float, default=30.0, help="idle seconds before measuring")
    parser.add_argument("--messages", type=int, default=0, help="0: idle figures only")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--size", type=int, default=2048)
    parser.add_argument("--deliver-timeout", type=float, default=600.0)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a setting for mailrs up, e.g. MAILRS_SMTP_PROCESSES=2 (repeatable)",
    )
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="mailrs-memory-"))
    ports = {name: free_port() for name in ADDRESSES}
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILRS_")}
    env.update({f"MAILRS_{name}": f"127.0.0.1:{port}" for name, port in ports.items()})
    env.update(LIMITS)
    env.update(item.split("=", 1) for item in args.env)
    log = folder / "up.log"
    with open(log, "wb") as out:
        up = subprocess.Popen(
            [sys.executable, "-m", "mailrs", "up"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=folder,
            start_new_session=True,
        )
    try:
        wait_up(up, log)
        print(f"mailrs up in {folder}; idle for {args.settle:.0f} s")
        time.sleep(args.settle)
        idle = snapshot(up.pid)
        print_table("idle (MiB)", idle)
        if args.messages:
            new_dir = add_mailbox(folder)
            sampler = PeakSampler(up.pid)
            sampler.start()
            delivered, secs = load(ports["SMTP_LISTEN_ADDR"], new_dir, args)
            sampler.stop()
            print(f"\n{delivered} of {args.messages} messages delivered in {secs:.1f} s")
            print_table(
                "peak under load (the sample with the highest total PSS, MiB)", sampler.peak
            )
    finally:
        up.terminate()
        try:
            up.wait(timeout=30)
        except subprocess.TimeoutExpired:
            up.kill()
            up.wait()
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
