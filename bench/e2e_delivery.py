"""End-to-end delivery benchmark: SMTP accept → Celery pipeline → file in the Maildir's new/.

Starts a real smtpd and one `mailrs worker` on free loopback ports in a temporary
directory, sends N messages from C concurrent smtplib clients, and prints the accept
rate, the end-to-end delivery rate, accept latency percentiles, and, measured in the
same run as a reference, how fast this disk takes fsynced Maildir writes alone.

    .venv/bin/python bench/e2e_delivery.py --messages 300 --clients 4
    .venv/bin/python bench/e2e_delivery.py --broker redis://127.0.0.1:6379/12
"""

from __future__ import annotations

import argparse
import os
import smtplib
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from mailrs.config import load_settings, parse_hostport
from mailrs.db import Database
from mailrs.maildir import MaildirStore
from mailrs.migrate import upgrade
from mailrs.users import add_user

USER = "bench@example.test"


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_message(size: int, n: int) -> bytes:
    """A message of about ``size`` bytes with CRLF lines."""
    head = f"From: load@remote.test\r\nTo: {USER}\r\nSubject: bench {n}\r\n\r\n".encode()
    line = b"x" * 76 + b"\r\n"
    body = line * max(1, (size - len(head)) // len(line))
    return head + body


def reference_fsync_rate(folder: Path, count: int, size: int) -> float:
    """Messages/s for plain fsynced Maildir writes (tmp, fsync, link into new/)."""
    store = MaildirStore(folder)
    store.create_user(USER)
    data = make_message(size, 0)
    start = time.perf_counter()
    for _ in range(count):
        store.deliver(USER, data)
    return count / (time.perf_counter() - start)


def wait_for_line(proc: subprocess.Popen[bytes], text: bytes, timeout: float = 60) -> None:
    """Read a child's output until ``text`` appears."""
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"process exited before printing {text!r}")
        if text in line:
            threading.Thread(target=proc.stdout.read, daemon=True).start()  # keep draining
            return
    raise RuntimeError(f"timed out waiting for {text!r}")


def main() -> int:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--size", type=int, default=2048)
    parser.add_argument("--broker", default="", help="broker URL; empty = embedded")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="mailrs-bench-") as tmp:
        root = Path(tmp)
        config = root / "mailrs.toml"
        config.write_text(
            f'[smtp]\nlisten_addr = "127.0.0.1:{free_port()}"\nlocal_domains = ["example.test"]\n'
            f'[imap]\nlisten_addr = "127.0.0.1:{free_port()}"\n'
            f'[api]\nlisten_addr = "127.0.0.1:{free_port()}"\n'
            f'[celery]\nbroker_url = "{args.broker}"\nsweep_grace_secs = 3600\n'
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
        db.dispose()
        reference = reference_fsync_rate(root / "reference", min(args.messages, 500), args.size)

        env = dict(os.environ, MAILRS_CONFIG=str(config), PYTHONUNBUFFERED="1")
        children = [
            subprocess.Popen(
                [sys.executable, "-m", "smtpd", "--config", str(config)],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            ),
            subprocess.Popen(
                [sys.executable, "-m", "mailrs", "worker", "--config", str(config)],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            ),
        ]
        try:
            wait_for_line(children[0], b"SMTP server listening")
            wait_for_line(children[1], b"ready.")
            host, port = parse_hostport(settings.smtp.listen_addr)
            latencies: list[float] = []
            lock = threading.Lock()
            per_client = args.messages // args.clients
            total = per_client * args.clients

            def client(index: int) -> None:
                with smtplib.SMTP(host, port, timeout=60) as smtp:
                    for n in range(per_client):
                        data = make_message(args.size, index * per_client + n)
                        start = time.perf_counter()
                        smtp.sendmail("load@remote.test", [USER], data)
                        with lock:
                            latencies.append(time.perf_counter() - start)

            started = time.perf_counter()
            threads = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            accepted_secs = time.perf_counter() - started
            new_dir = store.user_dir(USER) / "new"
            while len(os.listdir(new_dir)) < total:
                if time.perf_counter() - started > 600:
                    raise RuntimeError("deliveries did not finish within 600 s")
                time.sleep(0.01)
            delivered_secs = time.perf_counter() - started
        finally:
            for child in children:
                child.terminate()
            for child in children:
                child.wait(timeout=30)

    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    delivered_rate = total / delivered_secs
    print(
        f"broker: {args.broker or 'embedded'}  messages: {total}  clients: {args.clients}"
        f"  size: {args.size} B"
    )
    print(f"{'accepted msg/s':<34}{total / accepted_secs:10.1f}")
    print(f"{'delivered msg/s (end to end)':<34}{delivered_rate:10.1f}")
    print(f"{'accept latency p50 ms':<34}{statistics.median(latencies) * 1000:10.2f}")
    print(f"{'accept latency p99 ms':<34}{p99 * 1000:10.2f}")
    print(f"{'reference: fsynced Maildir writes/s':<34}{reference:10.1f}")
    print(f"{'ratio delivered / reference':<34}{delivered_rate / reference:10.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
