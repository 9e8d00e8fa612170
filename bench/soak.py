"""Soak: steady SMTP load while the worker and smtpd are SIGKILLed and the broker restarted.

    .venv/bin/python bench/soak.py --minutes 3 --broker redis --kill-every 1.5

It runs ``mailrs up`` on a fresh data folder (free loopback ports) and, with ``--broker
redis``, a private ``redis-server`` on a free port (no persistence) that it stops and
starts again every ``--broker-every`` seconds; with the embedded broker it removes the
broker folder instead. Sender threads send messages with unique Message-IDs at a steady
rate; like an MTA, a sender retries a message (same Message-ID) after a 4xx or a lost
connection, and gives up only after a 5xx or ``--max-tries``. Every ``--kill-every``
seconds the worker or smtpd (at random, the pid taken from ``mailrs status --json``,
never found by name) gets SIGKILL. At the end the load and the faults stop, the queue
drains, and every Message-ID is counted in the Maildir. It prints the figures and
exits 0 when every accepted message was delivered exactly once and the platform is
still up.

A message whose reply was lost with a SIGKILLed smtpd (no answer after the final dot)
may have been committed just before: the sender's retry is then a second, separately
accepted copy. That is SMTP's own limit (RFC 5321 section 6.1; RFC 1047), counted and
printed apart ("duplicates after a lost reply"), not a lost or doubled 250.

Every process it starts is stopped by its own pid / process group. Results are printed,
never asserted in tests.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DOMAIN = "soak.test"
USER = f"alice@{DOMAIN}"
MESSAGE_ID = re.compile(rb"^Message-ID:\s*<([^>]+)>", re.IGNORECASE | re.MULTILINE)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def accepts(port: int) -> bool:
    """True when 127.0.0.1:port accepts a connection."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@dataclass
class Tally:
    """What the senders and the fault injector saw."""

    attempts: dict[str, list[str]] = field(default_factory=dict)
    kills: Counter[str] = field(default_factory=Counter)
    broker_restarts: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, msgid: str, outcome: str) -> None:
        """Record one attempt's outcome."""
        with self.lock:
            self.attempts.setdefault(msgid, []).append(outcome)


def attempt(port: int, msgid: str, body: bytes) -> str:
    """One SMTP attempt: '250', the reply code, or 'lost' (no answer / connection failed)."""
    data = (
        f"From: bob@remote.test\r\nTo: {USER}\r\nSubject: soak {msgid}\r\n"
        f"Message-ID: <{msgid}>\r\n\r\n".encode()
        + body
    )
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
            client.sendmail("bob@remote.test", [USER], data)
        return "250"
    except smtplib.SMTPResponseException as exc:
        return str(exc.smtp_code)
    except smtplib.SMTPRecipientsRefused as exc:
        (code, _), *_ = exc.recipients.values()
        return str(code)
    except (OSError, smtplib.SMTPException):
        return "lost"


def sender(
    number: int, port: int, rate: float, stop: threading.Event, tally: Tally, max_tries: int
) -> None:
    """Send messages at ``rate`` per second, each until 250, a 5xx or ``max_tries``."""
    body = b"".join(b"soak line %04d\r\n" % i for i in range(64))
    sequence = 0
    while not stop.is_set():
        started = time.monotonic()
        msgid = f"soak-{number}-{sequence}@{DOMAIN}"
        sequence += 1
        for _ in range(max_tries):
            outcome = attempt(port, msgid, body)
            tally.note(msgid, outcome)
            if outcome == "250" or outcome.startswith("5"):
                break
            time.sleep(0.3)  # an MTA's retry, much shortened
        time.sleep(max(0.0, 1 / rate - (time.monotonic() - started)))


def delivered(maildir: Path) -> Counter[str]:
    """Copies per Message-ID in the user's Maildir."""
    found: Counter[str] = Counter()
    local, domain = USER.split("@")
    for sub in ("new", "cur"):
        folder = maildir / domain / local / sub
        if not folder.is_dir():
            continue
        for path in folder.iterdir():
            try:
                match = MESSAGE_ID.search(path.read_bytes()[:8192])
            except OSError:
                continue
            if match:
                found[match.group(1).decode()] += 1
    return found


class Redis:
    """A private redis-server on a free port, stopped and started by pid."""

    def __init__(self, port: int, folder: Path) -> None:
        self.port = port
        self.folder = folder
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start it and wait until it accepts connections."""
        argv = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        argv += ["--save", "", "--appendonly", "no", "--daemonize", "no"]
        with open(self.folder / "redis.log", "ab") as log:
            self.process = subprocess.Popen(
                argv, stdout=log, stderr=subprocess.STDOUT, cwd=self.folder
            )
        deadline = time.monotonic() + 20
        while not accepts(self.port) and time.monotonic() < deadline:
            time.sleep(0.05)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL, by pid."""
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None


def status(config: Path, env: dict[str, str]) -> dict[str, Any] | None:
    """``mailrs status --json``, or None if it could not be read."""
    result = subprocess.run(
        [sys.executable, "-m", "mailrs", "status", "--json", "--config", str(config)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    try:
        data: dict[str, Any] = json.loads(result.stdout)
    except ValueError:
        return None
    return data


def watch_status(
    config: Path, env: dict[str, str], stop: threading.Event, latest: list[dict[str, Any]]
) -> None:
    """Keep ``latest[0]`` the newest ``mailrs status --json`` (it takes a second or two)."""
    while not stop.is_set():
        state = status(config, env)
        if state is not None:
            latest[0] = state


def faults(
    args: argparse.Namespace,
    config: Path,
    env: dict[str, str],
    broker: Redis | None,
    broker_dir: Path,
    stop: threading.Event,
    tally: Tally,
) -> None:
    """Every ``kill_every`` s SIGKILL one of ``targets`` (at random among those running, or
    also starting with ``kill_starting``; pids from ``mailrs status``); restart the broker
    every ``broker_every`` s."""
    latest: list[dict[str, Any]] = [{"services": []}]
    watcher = threading.Thread(target=watch_status, args=(config, env, stop, latest))
    watcher.start()
    killed: set[int] = set()
    next_broker = time.monotonic() + args.broker_every
    while not stop.wait(args.kill_every):
        if time.monotonic() >= next_broker:
            next_broker = time.monotonic() + args.broker_every
            if broker is not None:
                broker.stop()
                time.sleep(1.0)
                broker.start()
            else:
                shutil.rmtree(broker_dir, ignore_errors=True)
            tally.broker_restarts += 1
        ready = [
            svc
            for svc in latest[0]["services"]
            if svc["name"] in args.targets
            and svc["alive"]
            and (args.kill_starting or svc["state"] == "running")
            and svc["pid"] not in killed
        ]
        if not ready:
            continue
        victim = random.choice(ready)
        killed.add(victim["pid"])
        try:
            os.kill(int(victim["pid"]), signal.SIGKILL)
            tally.kills[victim["name"]] += 1
        except ProcessLookupError:
            pass
    watcher.join()


def write_config(folder: Path, broker_url: str, args: argparse.Namespace) -> Path:
    """A config with free ports, no per-IP limits and a short sweeper grace."""
    config = folder / "mailrs.toml"
    lines = [
        'mode = "development"',
        "[smtp]",
        f'listen_addr = "127.0.0.1:{free_port()}"',
        'submission_addr = ""',
        f'local_domains = ["{DOMAIN}"]',
        'hostname = "mx.soak.test"',
        "max_connections = 1000",
        "max_connections_per_ip = 1000",
        "messages_per_minute_per_ip = 0",
        "[imap]",
        f'listen_addr = "127.0.0.1:{free_port()}"',
        "[api]",
        f'listen_addr = "127.0.0.1:{free_port()}"',
        "[celery]",
        f'broker_url = "{broker_url}"',
        f"sweep_grace_secs = {args.sweep_grace}",
        "sweep_interval_secs = 5",
        "[spam]",
        "check_sender_auth = false",
    ]
    config.write_text("\n".join(lines) + "\n")
    return config


def main() -> int:
    """Run the soak and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--broker", choices=("redis", "embedded"), default="redis")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rate", type=float, default=20.0, help="messages/s, all senders")
    parser.add_argument("--kill-every", type=float, default=1.5)
    parser.add_argument(
        "--targets",
        type=lambda text: text.split(","),
        default=["worker", "smtpd"],
        help="services to SIGKILL, comma-separated",
    )
    parser.add_argument(
        "--kill-starting", action="store_true", help="also kill services not yet ready"
    )
    parser.add_argument("--broker-every", type=float, default=30.0)
    parser.add_argument("--sweep-grace", type=int, default=15)
    parser.add_argument("--max-tries", type=int, default=40)
    parser.add_argument("--drain-timeout", type=float, default=240.0)
    parser.add_argument("--keep", action="store_true", help="keep the data folder")
    args = parser.parse_args()

    from mailrs.accounts.users import add_user
    from mailrs.config import load_settings
    from mailrs.db.engine import Database
    from mailrs.db.migrate import upgrade
    from mailrs.store.maildir import MaildirStore

    folder = Path(tempfile.mkdtemp(prefix="mailrs-soak-"))
    broker = Redis(free_port(), folder) if args.broker == "redis" else None
    broker_url = f"redis://127.0.0.1:{broker.port}/0" if broker else ""
    config = write_config(folder, broker_url, args)
    settings = load_settings(config, environ={})
    upgrade(settings.database_url)
    db = Database.from_settings(settings)
    with db.session() as session:
        add_user(session, MaildirStore(settings.maildir_path), USER, "soak password")
    db.dispose()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILRS_")}
    env.update(MAILRS_CONFIG=str(config), PYTHONUNBUFFERED="1")
    port = int(settings.smtp.listen_addr.rsplit(":", 1)[1])
    tally = Tally()
    stop_load, stop_faults = threading.Event(), threading.Event()
    if broker:
        broker.start()
    with open(folder / "up.log", "wb") as log:
        up = subprocess.Popen(
            [sys.executable, "-m", "mailrs", "up", "--config", str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=folder,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 120
        while "mailrs is up" not in (folder / "up.log").read_text():
            if up.poll() is not None or time.monotonic() > deadline:
                print((folder / "up.log").read_text())
                return 2
            time.sleep(0.2)
        print(
            f"soak: {args.minutes} min, {args.broker} broker, {args.rate}/s, kill "
            f"{'/'.join(args.targets)} every {args.kill_every} s"
            f"{' (also while starting)' if args.kill_starting else ''}, data in {folder}"
        )
        senders = [
            threading.Thread(
                target=sender,
                args=(n, port, args.rate / args.clients, stop_load, tally, args.max_tries),
            )
            for n in range(args.clients)
        ]
        injector = threading.Thread(
            target=faults,
            args=(args, config, env, broker, settings.broker_dir, stop_faults, tally),
        )
        started = time.monotonic()
        for thread in [*senders, injector]:
            thread.start()
        time.sleep(args.minutes * 60)
        stop_faults.set()
        injector.join()
        stop_load.set()
        for thread in senders:
            thread.join()
        load_secs = time.monotonic() - started
        if broker and broker.process is None:
            broker.start()

        accepted = {m for m, outcomes in tally.attempts.items() if "250" in outcomes}
        drain_started = time.monotonic()
        while time.monotonic() - drain_started < args.drain_timeout:
            if accepted <= set(delivered(settings.maildir_path)):
                break
            time.sleep(1.0)
        drain_secs = time.monotonic() - drain_started
        time.sleep(5)  # let a late duplicate show
        copies = delivered(settings.maildir_path)
        final = status(config, env)
        still_up = bool(final and final["supervisor_alive"]) and up.poll() is None
        services_alive = bool(final) and all(s["alive"] for s in final["services"])  # type: ignore[index]
    finally:
        stop_faults.set()
        stop_load.set()
        if up.poll() is None:
            up.send_signal(signal.SIGTERM)
            try:
                up.wait(timeout=60)
            except subprocess.TimeoutExpired:
                up.kill()
                up.wait()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(up.pid, signal.SIGKILL)
        if broker:
            broker.stop()

    lost_reply = {m for m, outcomes in tally.attempts.items() if "lost" in outcomes}
    retried = sum(len(o) - 1 for o in tally.attempts.values())
    retry_4xx = sum(1 for o in tally.attempts.values() for x in o[:-1] if x.startswith("4"))
    missing = sorted(m for m in accepted if copies[m] == 0)
    twice = {m: n for m, n in copies.items() if n > 1}
    twice_lost = {m: n for m, n in twice.items() if m in lost_reply}
    twice_other = {m: n for m, n in twice.items() if m not in lost_reply}
    unacknowledged = sorted(m for m in copies if m not in accepted)
    unack_other = [m for m in unacknowledged if m not in lost_reply]
    restarts = {s["name"]: s["restarts"] for s in (final or {}).get("services", [])}
    outcomes = Counter(x for o in tally.attempts.values() for x in o)

    print(f"load: {load_secs:.0f} s, messages {len(tally.attempts)}, attempts {outcomes.total()}")
    print(f"attempt outcomes: {dict(outcomes)}")
    print(
        f"sender retries: {retried} (after a 4xx: {retry_4xx}, after a lost connection: "
        f"{retried - retry_4xx})"
    )
    print(f"accepted (250): {len(accepted)}; never accepted: {len(tally.attempts) - len(accepted)}")
    kills = sum(tally.kills.values())
    pace = f"one every {load_secs / kills:.1f} s" if kills else "none"
    print(f"kills: {dict(tally.kills)} ({pace}); broker restarts: {tally.broker_restarts}")
    print(f"restarts seen by mailrs status: {restarts}")
    print(f"drained in {drain_secs:.0f} s after the faults stopped")
    print(f"delivered exactly once: {sum(1 for m in accepted if copies[m] == 1)} / {len(accepted)}")
    print(f"missing: {len(missing)} {missing[:5]}")
    print(f"duplicates: {len(twice_other)} {list(twice_other.items())[:5]}")
    print(f"duplicates after a lost reply (SMTP's limit, RFC 1047): {len(twice_lost)}")
    print(
        f"delivered without a 250 (after a lost reply: {len(unacknowledged) - len(unack_other)},"
        f" other: {len(unack_other)})"
    )
    print(f"platform still up: {still_up}, every service alive: {services_alive}")
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)
    ok = not missing and not twice_other and not unack_other and still_up and services_alive
    print("soak:", "OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
