"""SMTP load benchmark: mailrs (smtpd + Celery workers) against Postfix, same load, same run.

N concurrent clients (an asyncio SMTP client, one session each, one message after the
other) send M messages of a given size to one local mailbox. For each server it prints
the accepted messages/s, the end-to-end delivered messages/s (first MAIL until the last
file is in the Maildir's ``new/``), p50/p99 accept latency (final dot until 250) and the
peak memory (PSS) of the receiving and delivering processes, the idle PSS of the whole
process tree before the load, and the CPU time (utime + stime, from /proc) that every
process of the server's tree spent per delivered message. Postfix runs as a
throwaway instance (config, queue and Maildir in a temporary folder, a free loopback
port, virtual(8) delivery to Maildir); it is skipped when ``postfix`` is not installed.

    .venv/bin/python bench/smtp_load.py --clients 20 --messages 2000 --size 2048
    .venv/bin/python bench/smtp_load.py --broker embedded --workers 1 --skip-postfix
    .venv/bin/python bench/smtp_load.py --mode up --load smtp-source   # the default install

``--mode up`` runs ``mailrs up`` (smtpd, imapd, web, worker under its supervisor; embedded
broker unless ``--broker redis``) instead of smtpd and ``--workers`` bare workers.
``--history N`` first fills alice's Maildir (cur/) and the ``messages`` and
``message_recipients`` tables with N delivered messages (bulk INSERTs, small files),
to show whether any per-message work grows with history (run 1000, 10000, 100000).
``--load smtp-source`` drives both servers with Postfix's ``smtp-source`` instead of the
built-in asyncio client (no latency figures then).

Results are printed, never asserted. Run as root for Postfix (it needs the postfix user).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

DOMAIN = "bench.test"
USER = f"alice@{DOMAIN}"


@dataclass
class Result:
    """The figures of one server under load."""

    name: str
    sent: int = 0
    accepted: int = 0
    errors: int = 0
    accept_secs: float = 0.0
    delivered_secs: float | None = None
    latencies: list[float] = field(default_factory=list)
    pss_receive: int = 0
    pss_deliver: int = 0
    pss_idle: int = 0
    pss_idle_by_process: list[tuple[str, int]] = field(default_factory=list)
    cpu_secs: float = 0.0
    cpu_by_process: list[tuple[str, float]] = field(default_factory=list)
    drain_secs: float = 0.0
    drain_busy: float = 0.0  # the machine's busy share of its cores while draining
    drain_by_process: list[tuple[str, float]] = field(default_factory=list)  # cores used

    def row(self) -> list[str]:
        """The table row."""
        lat = sorted(self.latencies) or [0.0]
        p50 = lat[len(lat) // 2] * 1000
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000
        e2e = f"{self.accepted / self.delivered_secs:.0f}" if self.delivered_secs else "timeout"
        cpu = f"{self.cpu_secs * 1000 / self.accepted:.2f}" if self.accepted else "-"
        return [
            self.name,
            f"{self.accepted}/{self.sent}",
            f"{self.accepted / self.accept_secs:.0f}" if self.accept_secs else "-",
            e2e,
            f"{p50:.1f}" if self.latencies else "-",
            f"{p99:.1f}" if self.latencies else "-",
            cpu,
            f"{self.pss_idle / 1024:.0f}",
            f"{self.pss_receive / 1024:.0f}",
            f"{self.pss_deliver / 1024:.0f}",
        ]


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_port(port: int, timeout: float = 60) -> None:
    """Wait until 127.0.0.1:port accepts connections."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"nothing listens on 127.0.0.1:{port}")


def make_message(size: int) -> bytes:
    """A message of about ``size`` bytes with CRLF lines, ending with CRLF."""
    head = f"From: load@remote.test\r\nTo: {USER}\r\nSubject: load\r\n\r\n".encode()
    line = b"x" * 76 + b"\r\n"
    return head + line * max(1, (size - len(head)) // len(line))


# -- load ------------------------------------------------------------------------------


async def _reply(reader: asyncio.StreamReader) -> bytes:
    line = await reader.readline()
    while line[3:4] == b"-":
        line = await reader.readline()
    return line


async def _client(port: int, data: bytes, left: list[int], result: Result) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        await _reply(reader)
        writer.write(b"EHLO load.example.org\r\n")
        await _reply(reader)
        while left[0] > 0:
            left[0] -= 1
            result.sent += 1
            writer.write(f"MAIL FROM:<load@remote.test>\r\nRCPT TO:<{USER}>\r\nDATA\r\n".encode())
            replies = [await _reply(reader) for _ in range(3)]
            if not replies[2].startswith(b"354"):
                result.errors += 1
                writer.write(b"RSET\r\n")
                await _reply(reader)
                continue
            writer.write(data)
            started = time.perf_counter()
            writer.write(b".\r\n")
            reply = await _reply(reader)
            if reply.startswith(b"250"):
                result.accepted += 1
                result.latencies.append(time.perf_counter() - started)
            else:
                result.errors += 1
        writer.write(b"QUIT\r\n")
        await _reply(reader)
    finally:
        writer.close()


async def _load(port: int, clients: int, messages: int, size: int, result: Result) -> None:
    data = make_message(size)
    left = [messages]
    await asyncio.gather(*(_client(port, data, left, result) for _ in range(clients)))


def run_smtp_source(port: int, args: argparse.Namespace, result: Result) -> None:
    """The load from Postfix's ``smtp-source`` (every message counts as accepted if it exits 0)."""
    tool = shutil.which("smtp-source") or "/usr/sbin/smtp-source"
    size = max(1, args.size - 60)  # -l counts the body only; smtp-source adds ~60 bytes
    argv = [tool, "-s", str(args.clients), "-m", str(args.messages), "-l", str(size)]
    argv += ["-f", "load@remote.test", "-t", USER, f"127.0.0.1:{port}"]
    done = subprocess.run(argv, capture_output=True, text=True)
    result.sent = args.messages
    if done.returncode == 0:
        result.accepted = args.messages
    else:
        result.errors = args.messages
        print(f"smtp-source: exit {done.returncode}: {done.stderr.strip()}", file=sys.stderr)


def count_new(folder: Path) -> int:
    """Files in a Maildir's new/ (0 if it does not exist yet)."""
    try:
        return len(os.listdir(folder))
    except FileNotFoundError:
        return 0


# -- memory ------------------------------------------------------------------------------


def descendants(root: int) -> list[int]:
    """``root`` and every process below it."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def cpu_secs(roots: list[int], children: bool = True) -> float:
    """CPU seconds (user + system) used so far by every process below ``roots``.

    Counts each living process's own time plus the time of its children that already
    exited and were waited for (cutime/cstime), so short-lived helpers are included.
    With ``children=False``, only the own time of the processes in ``roots``.
    """
    ticks = 0
    pids = {p for root in roots for p in descendants(root)} if children else set(roots)
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += sum(int(v) for v in fields[11 : 15 if children else 13])
    return ticks / os.sysconf("SC_CLK_TCK")


def machine_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of every core so far, from /proc/stat."""
    with open("/proc/stat") as fh:
        values = [int(v) for v in fh.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


def start_profilers(pids: list[int], folder: Path, server: str) -> list[subprocess.Popen[bytes]]:
    """py-spy on every process for the first 20 s of the load: one collapsed-stack file each
    (``<folder>/<server>-<pid>-<name>.txt``; sum the counts by function to compare)."""
    tool = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    folder.mkdir(parents=True, exist_ok=True)
    started = []
    for pid in pids:
        label = "-".join(process_name(pid).split()[:4]).replace("/", "_")
        out = folder / f"{server.split()[0]}-{label}.txt"
        rate = os.environ.get("MAILRS_BENCH_PROFILE_RATE", "50")  # samples per second
        argv = [tool, "record", "--pid", str(pid), "--duration", "20", "--rate", rate]
        argv += ["--format", "raw", "--nonblocking", "--threads", "-o", str(out)]
        started.append(subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    return started


def process_name(pid: int) -> str:
    """A short name for a process: its command line without the interpreter's path."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            argv = fh.read().decode(errors="replace").split("\0")
    except OSError:
        return str(pid)
    if len([a for a in argv if a]) == 1:  # a title set with setproctitle: one string
        argv = argv[0].split()
    words = [os.path.basename(argv[0])] + [w for w in argv[1:4] if w and "/" not in w]
    return f"{pid} {' '.join(words)}"


def pss_kib(pids: list[int]) -> int:
    """The summed PSS of these processes, in KiB."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as fh:
                for line in fh:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            continue
    return total


class PeakMemory(threading.Thread):
    """Samples the PSS of two process groups until stopped; keeps the peaks."""

    def __init__(self, receive: list[int], deliver: list[int]) -> None:
        super().__init__(daemon=True)
        self.receive, self.deliver = receive, deliver
        self.peak_receive = self.peak_deliver = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(0.25):
            receive = pss_kib([p for root in self.receive for p in descendants(root)])
            deliver = pss_kib([p for root in self.deliver for p in descendants(root)])
            self.peak_receive = max(self.peak_receive, receive)
            self.peak_deliver = max(self.peak_deliver, deliver)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


def measure(
    name: str,
    port: int,
    new_dir: Path,
    args: argparse.Namespace,
    receive: list[int],
    deliver: list[int],
) -> Result:
    """Run the load against one server and wait for every message to be delivered."""
    result = Result(name)
    time.sleep(args.settle)  # let start-up work finish before the idle figures
    roots = receive + deliver
    tree = [p for root in roots for p in descendants(root)]
    result.pss_idle = pss_kib(tree)
    result.pss_idle_by_process = [(process_name(p), pss_kib([p])) for p in tree]
    cpu_before = cpu_secs(roots)
    cpu_each_before = {p: cpu_secs([p], children=False) for p in tree}
    memory = PeakMemory(receive, deliver)
    memory.start()
    profilers = start_profilers(tree, args.profile, name) if args.profile else []
    started = time.perf_counter()
    if args.load == "smtp-source":
        run_smtp_source(port, args, result)
    else:
        asyncio.run(_load(port, args.clients, args.messages, args.size, result))
    result.accept_secs = time.perf_counter() - started
    drain_cpu = {p: cpu_secs([p], children=False) for p in tree}
    drain_machine = machine_ticks()
    deadline = time.monotonic() + args.deliver_timeout
    while count_new(new_dir) < result.accepted and time.monotonic() < deadline:
        time.sleep(0.02)
    if count_new(new_dir) >= result.accepted:
        result.delivered_secs = time.perf_counter() - started
    result.drain_secs = time.perf_counter() - started - result.accept_secs
    busy, total = (now - before for now, before in zip(machine_ticks(), drain_machine, strict=True))
    result.drain_busy = busy / total if total else 0.0
    if result.drain_secs > 0.5:
        result.drain_by_process = [
            (process_name(p), (cpu_secs([p], children=False) - before) / result.drain_secs)
            for p, before in drain_cpu.items()
        ]
    result.cpu_secs = cpu_secs(roots) - cpu_before
    result.cpu_by_process = [
        (process_name(p), cpu_secs([p], children=False) - before)
        for p, before in cpu_each_before.items()
    ]
    memory.stop()
    for profiler in profilers:
        profiler.wait()
    result.pss_receive, result.pss_deliver = memory.peak_receive, memory.peak_deliver
    return result


# -- mailrs ------------------------------------------------------------------------------


def prefill(db: object, cur: Path, count: int) -> None:
    """``count`` delivered messages: rows born by the accept path, then marked delivered,
    and their files in cur/."""
    from sqlalchemy import update

    from mailrs.db.models import Message, Recipient
    from mailrs.queue.accept import Envelope, add_rows
    from mailrs.queue.states import MessageState, RecipientState

    body = make_message(300)
    envelope = Envelope("old@remote.test", (USER,), "127.0.0.1", "old.remote.test")
    chunk = 5000
    for start in range(0, count, chunk):
        numbers = range(start, min(count, start + chunk))
        rows = [(f"HIST{n:012d}", envelope, len(body), "") for n in numbers]
        with db.session() as session:  # type: ignore[attr-defined]
            add_rows(session, rows)
            session.commit()
    with db.session() as session:  # type: ignore[attr-defined]
        session.execute(
            update(Message)
            .where(Message.queue_id.like("HIST%"))
            .values(state=MessageState.DELIVERED, finished_at=Message.received_at)
        )
        session.execute(  # a fresh database: every recipient so far is a history one
            update(Recipient).values(state=RecipientState.DELIVERED, attempts=1)
        )
        session.commit()
    cur.mkdir(parents=True, exist_ok=True)
    for n in range(count):
        (cur / f"17000000{n:08d}.hist.bench,S={len(body)}:2,S").write_bytes(body)


def run_mailrs(folder: Path, args: argparse.Namespace) -> Result:
    """smtpd and ``--workers`` Celery workers on the configured broker."""
    from mailrs.accounts.users import add_user
    from mailrs.config import load_settings
    from mailrs.db.engine import Database
    from mailrs.db.migrate import upgrade
    from mailrs.store.maildir import MaildirStore

    broker = ""
    if args.broker == "redis":
        import redis

        broker = f"redis://127.0.0.1:6379/{args.redis_db}"
        client = redis.Redis.from_url(broker)
        client.flushdb()
        client.close()
    port = free_port()
    folder.mkdir(parents=True)
    config = folder / "mailrs.toml"
    config.write_text(
        "\n".join(
            [
                'mode = "development"',
                "[smtp]",
                f'listen_addr = "127.0.0.1:{port}"',
                'submission_addr = ""',
                f'local_domains = ["{DOMAIN}"]',
                'hostname = "mx.bench.test"',
                "max_connections = 1000",
                "max_connections_per_ip = 1000",
                "messages_per_minute_per_ip = 0",
                "messages_per_minute_per_user = 0",
                f"processes = {args.smtpd_processes}",
                "[imap]",
                f'listen_addr = "127.0.0.1:{free_port()}"',
                "[api]",
                f'listen_addr = "127.0.0.1:{free_port()}"',
                "[celery]",
                f'broker_url = "{broker}"',
            ]
        )
        + "\n"
    )
    if args.database_url:
        with config.open("a") as fh:
            fh.write(f'[database]\nurl = "{args.database_url}"\n')
    settings = load_settings(config, environ={})
    upgrade(settings.database_url)
    db = Database.from_settings(settings)
    with db.session() as session:
        add_user(session, MaildirStore(settings.maildir_path), USER, "bench password")
    if args.history:
        started = time.perf_counter()
        prefill(db, settings.maildir_path / DOMAIN / "alice" / "cur", args.history)
        print(f"history: {args.history} messages in {time.perf_counter() - started:.1f} s")
    db.dispose()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILRS_")}
    env.update(MAILRS_CONFIG=str(config), PYTHONUNBUFFERED="1")
    logs = folder / "logs"
    logs.mkdir()
    procs: list[subprocess.Popen[bytes]] = []
    database = "PostgreSQL" if args.database_url else "SQLite"
    new_dir = settings.maildir_path / DOMAIN / "alice" / "new"
    if args.mode == "up":
        try:
            with open(logs / "up.log", "wb") as out:
                up = subprocess.Popen(
                    [sys.executable, "-m", "mailrs", "up", "--config", str(config)],
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    env=env,
                )
            procs.append(up)
            deadline = time.monotonic() + 90
            while b"mailrs is up" not in (logs / "up.log").read_bytes():
                if up.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit((logs / "up.log").read_text())
                time.sleep(0.2)
            name = f"mailrs up ({args.broker}, {database})"
            return measure(name, port, new_dir, args, [up.pid], [])
        finally:
            _stop(procs)
    try:
        with open(logs / "smtpd.log", "wb") as out:
            smtpd = subprocess.Popen(
                [sys.executable, "-m", "smtpd", "--config", str(config)],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
            )
        procs.append(smtpd)
        workers = []
        for n in range(args.workers):
            with open(logs / f"worker{n}.log", "wb") as out:
                worker = subprocess.Popen(
                    [sys.executable, "-m", "mailrs", "worker", "--config", str(config)],
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    env=env,
                )
            procs.append(worker)
            workers.append(worker)
        wait_port(port)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            ready = [(logs / f"worker{n}.log").read_bytes() for n in range(args.workers)]
            if all(b"ready." in text for text in ready):
                break
            time.sleep(0.2)
        return measure(
            f"mailrs ({args.broker}, {database}, {args.workers} worker(s))",
            port,
            new_dir,
            args,
            [smtpd.pid],
            [w.pid for w in workers],
        )
    finally:
        _stop(procs)


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM each process we started, then SIGKILL what is still there after 20 s."""
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


# -- Postfix ---------------------------------------------------------------------------


def postfix_config(folder: Path, port: int) -> Path:
    """A throwaway Postfix instance's config directory (virtual delivery to Maildir)."""
    account = pwd.getpwnam("postfix")
    conf, queue, data, vmail = (folder / n for n in ("conf", "queue", "data", "vmail"))
    for path in (conf, queue, data, vmail):
        path.mkdir(parents=True)
    os.chown(data, account.pw_uid, account.pw_gid)
    os.chown(vmail, account.pw_uid, account.pw_gid)
    skip = ("maildrop", "uucp", "ifmail", "bsmtp", "scalemail-backend", "mailman")
    lines = []
    for line in Path("/usr/share/postfix/master.cf.dist").read_text().splitlines():
        if not line or line[0] in "# \t" or line.startswith(skip):
            continue
        fields = line.split()
        if fields[0] == "smtp" and fields[1] == "inet":
            fields[0] = f"127.0.0.1:{port}"
        if fields[4] == "y":
            fields[4] = "n"  # no chroot: the instance lives in a temporary folder
        lines.append(" ".join(fields))
    (conf / "master.cf").write_text("\n".join(lines) + "\n")
    (conf / "vmailbox").write_text(f"{USER} {DOMAIN}/alice/\n")
    (conf / "main.cf").write_text(
        f"""compatibility_level = 3.6
queue_directory = {queue}
data_directory = {data}
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
meta_directory = /etc/postfix
shlib_directory = /usr/lib/postfix
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.postfix.test
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination
virtual_mailbox_domains = {DOMAIN}
virtual_mailbox_base = {vmail}
virtual_mailbox_maps = texthash:{conf}/vmailbox
virtual_uid_maps = static:{account.pw_uid}
virtual_gid_maps = static:{account.pw_gid}
maillog_file = {folder}/maillog
maillog_file_prefixes = {folder}
alias_maps =
alias_database =
local_recipient_maps =
smtputf8_enable = no
biff = no
default_process_limit = 200
smtpd_client_connection_count_limit = 0
smtpd_client_message_rate_limit = 0
"""
    )
    return conf


def run_postfix(folder: Path, args: argparse.Namespace) -> Result | None:
    """The same load against a throwaway Postfix instance."""
    if shutil.which("postfix") is None or os.geteuid() != 0:
        print("postfix: not installed or not root; skipped", file=sys.stderr)
        return None
    port = free_port()
    conf = postfix_config(folder, port)
    started = subprocess.run(["postfix", "-c", str(conf), "start"], capture_output=True, text=True)
    if started.returncode != 0:
        log = folder / "maillog"
        print(started.stderr, log.read_text() if log.exists() else "", file=sys.stderr)
        return None
    try:
        wait_port(port)
        master = int((folder / "queue" / "pid" / "master.pid").read_text().split()[0])
        new_dir = folder / "vmail" / DOMAIN / "alice" / "new"
        return measure("Postfix", port, new_dir, args, [master], [])
    finally:
        subprocess.run(["postfix", "-c", str(conf), "stop"], capture_output=True)


@contextlib.contextmanager
def postgres_schema(url: str | None) -> Iterator[str]:
    """A URL on a fresh PostgreSQL schema (dropped afterwards), or '' for SQLite."""
    if not url:
        yield ""
        return
    from sqlalchemy import create_engine, text

    schema = f"mailrs_bench_{os.getpid()}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in url else "?"
    try:
        yield f"{url}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def main() -> int:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--size", type=int, default=2048)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--broker",
        choices=("redis", "embedded"),
        help="default: embedded with --mode up (as installed), redis otherwise",
    )
    parser.add_argument(
        "--redis-db", type=int, default=int(os.environ.get("MAILRS_BENCH_REDIS_DB", 15))
    )
    parser.add_argument("--deliver-timeout", type=float, default=300)
    parser.add_argument("--skip-postfix", action="store_true")
    parser.add_argument(
        "--mode",
        choices=("services", "up"),
        default="services",
        help="services: smtpd + --workers bare workers; up: `mailrs up` (the default install)",
    )
    parser.add_argument("--load", choices=("asyncio", "smtp-source"), default="asyncio")
    parser.add_argument(
        "--smtpd-processes", type=int, default=1, help="[smtp] processes (smtpd's own children)"
    )
    parser.add_argument(
        "--history", type=int, default=0, help="messages already delivered before the load"
    )
    parser.add_argument("--settle", type=float, default=3.0, help="seconds idle before the load")
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="py-spy every mailrs process for 20 s of the load (collapsed stacks in DIR)",
    )
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="use a fresh schema in this PostgreSQL database instead of SQLite, e.g. "
        "postgresql+psycopg://postgres@127.0.0.1:5432/test",
    )
    args = parser.parse_args()
    args.broker = args.broker or ("embedded" if args.mode == "up" else "redis")
    args.database_url = ""
    results = []
    with (
        tempfile.TemporaryDirectory(prefix="mailrs-bench-") as tmp,
        postgres_schema(args.postgres) as database_url,
    ):
        os.chmod(tmp, 0o755)  # Postfix's own processes (user postfix) must reach their files
        args.database_url = database_url
        results.append(run_mailrs(Path(tmp) / "mailrs", args))
        args.profile = None  # Postfix is C: nothing for py-spy
        if not args.skip_postfix:
            postfix = run_postfix(Path(tmp) / "postfix", args)
            if postfix is not None:
                results.append(postfix)
    header = ["server", "accepted", "accept/s", "delivered/s", "p50 ms", "p99 ms",
              "CPU ms/msg", "PSS idle MiB", "PSS recv MiB", "PSS deliver MiB"]  # fmt: skip
    rows = [header] + [r.row() for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    print(
        f"{args.clients} clients, {args.messages} messages of {args.size} bytes, "
        f"load from {args.load}, mailrs as {args.mode}"
    )
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
    for result in results:
        print(f"idle PSS of {result.name}, per process (MiB):")
        for name, kib in result.pss_idle_by_process:
            print(f"  {kib / 1024:6.1f}  {name}")
        if result.accepted and result.cpu_by_process:
            print(f"CPU ms per message of {result.name}, per process:")
            for name, secs in result.cpu_by_process:
                print(f"  {secs * 1000 / result.accepted:6.2f}  {name}")
        if result.drain_by_process:
            print(
                f"drain after the load ({result.drain_secs:.1f} s): machine "
                f"{100 * result.drain_busy:.0f}% busy; cores used by {result.name}, per process:"
            )
            for name, cores in result.drain_by_process:
                if cores >= 0.005:
                    print(f"  {cores:6.2f}  {name}")
    if len(results) == 2 and results[0].delivered_secs and results[1].delivered_secs:
        ours = results[0].accepted / results[0].delivered_secs
        theirs = results[1].accepted / results[1].delivered_secs
        accept_ratio = (results[0].accepted / results[0].accept_secs) / (
            results[1].accepted / results[1].accept_secs
        )
        print(f"ratio to Postfix: delivered {ours / theirs:.2f}, accepted {accept_ratio:.2f}")
    print(f"load average: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    errors = sum(r.errors for r in results)
    if errors:
        print(f"errors: {errors} (replies other than 250)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
