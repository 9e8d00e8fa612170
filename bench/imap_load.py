"""Concurrent mixed-command IMAP load: mailrs imapd against Dovecot in the same run.

Usage: ``python bench/imap_load.py [--clients 10] [--seconds 20] [--messages 500]``

An imaptest-like load generator: N client threads work on one shared INBOX for T
seconds, each looping over LOGIN, SELECT, FETCH (flags), FETCH (bodies), STORE,
APPEND, SEARCH, EXPUNGE and LOGOUT. Two modes run on each server, taking turns:
``stress`` (a new login for every round) and ``logout=0`` (one login per client; the
figures are command throughput). Printed per command: completions per second on each
server and the ratio mailrs / Dovecot, then the server CPU milliseconds per command
and the PSS of the server processes. Also printed: the APPEND median from Python's
``imaplib`` (which does not disable Nagle) on both servers. Servers and data are the
ones of ``bench/imap_bench.py`` (same Argon2id password hash on both). Nothing is
asserted: this prints figures.

With ``--imaptest PATH`` (Dovecot's imaptest, built as README says), imaptest itself
is the load instead: its stress mode, ``logout=0`` and its login benchmark
(``- select=0``), each against mailrs then Dovecot, totals per column and ratios.
"""

from __future__ import annotations

import argparse
import imaplib
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from imap_bench import (  # noqa: E402
    PASSWORD,
    USER,
    Client,
    fill_maildir,
    make_message,
    password_hash,
    start_dovecot,
    start_mailrs,
)
from imaptest_modes import MODES, print_table, run_imaptest, write_mbox  # noqa: E402

COMMANDS = ["LOGIN", "SELECT", "FETCH", "FETCH2", "STORE", "APPEND", "SEARCH", "EXPUNGE", "LOGOUT"]


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        todo.extend(children.get(current, []))
    return out


def cpu_seconds(pid: int) -> float:
    """User+system CPU seconds of the process tree under ``pid`` (children still alive)."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for member in process_tree(pid):
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def pss_mib(pid: int) -> float:
    """The PSS of the process tree under ``pid`` in MiB."""
    total = 0
    for member in process_tree(pid):
        try:
            text = Path(f"/proc/{member}/smaps_rollup").read_text()
        except OSError:
            continue
        for line in text.splitlines():
            if line.startswith("Pss:"):
                total += int(line.split()[1])
    return total / 1024


class Worker(threading.Thread):
    """One client looping over the command mix until the deadline."""

    def __init__(self, port: int, deadline: float, relogin: bool, seed: int) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.deadline = deadline
        self.relogin = relogin
        self.rng = random.Random(seed)
        self.counts: Counter[str] = Counter()
        self.errors: list[str] = []

    def _timed(self, client: Client, name: str, text: str) -> list[bytes]:
        """Run a command; OK, or NO [EXPUNGEISSUED] (RFC 2180: another client expunged)."""
        client.counter += 1
        tag = f"c{client.counter}".encode()
        client.sock.sendall(tag + b" " + text.encode() + b"\r\n")
        lines = []
        while True:
            line = client.read_response()
            lines.append(line)
            if line.startswith(tag + b" "):
                if not line.startswith((tag + b" OK", tag + b" NO [EXPUNGEISSUED]")):
                    raise RuntimeError(f"{text!r} failed: {line!r}")
                break
        self.counts[name] += 1
        return lines

    def _login(self) -> Client:
        client = Client(self.port)
        self._timed(client, "LOGIN", f'LOGIN {USER} "{PASSWORD}"')
        self._timed(client, "SELECT", "SELECT INBOX")
        return client

    def _append(self, client: Client) -> None:
        data = make_message(self.rng, self.rng.randrange(1_000_000))
        client.counter += 1
        tag = f"a{client.counter}".encode()
        client.sock.sendall(tag + b" APPEND INBOX (\\Seen) {" + str(len(data)).encode() + b"}\r\n")
        if not client.read_response().startswith(b"+"):
            raise RuntimeError("APPEND got no continuation")
        client.sock.sendall(data + b"\r\n")
        while True:
            line = client.read_response()
            if line.startswith(tag + b" "):
                if not line.startswith(tag + b" OK"):
                    raise RuntimeError(f"APPEND failed: {line!r}")
                break
        self.counts["APPEND"] += 1

    def _round(self, client: Client) -> None:
        rng = self.rng
        self._timed(client, "FETCH", "FETCH 1:* (UID FLAGS)")
        self._timed(client, "FETCH2", "FETCH 1:5 (UID RFC822.SIZE BODY.PEEK[HEADER] BODY.PEEK[])")
        flag = rng.choice(["\\Seen", "\\Flagged", "\\Answered", "$Work"])
        self._timed(client, "STORE", f"STORE {rng.randint(1, 20)} {rng.choice('+-')}FLAGS ({flag})")
        self._append(client)
        self._timed(client, "SEARCH", f'SEARCH OR FROM "sender{rng.randrange(500)}@" SEEN')
        if rng.random() < 0.3:
            self._timed(client, "STORE", f"STORE {rng.randint(1, 30)} +FLAGS (\\Deleted)")
            self._timed(client, "EXPUNGE", "EXPUNGE")

    def run(self) -> None:
        client: Client | None = None
        try:
            while time.monotonic() < self.deadline:
                if client is None:
                    client = self._login()
                self._round(client)
                if self.relogin:
                    client.command("LOGOUT")
                    self.counts["LOGOUT"] += 1
                    client.sock.close()
                    client = None
        except Exception as exc:  # noqa: BLE001 - a benchmark reports, it does not stop
            self.errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            if client is not None:
                client.close()


def run_load(
    pid: int, port: int, clients: int, seconds: float, relogin: bool, profile: Path | None = None
) -> dict[str, object]:
    """Run N workers for T seconds; counts per second, CPU ms per command, PSS.

    With ``profile``, py-spy samples the server meanwhile (collapsed stacks to that file).
    """
    spy = None
    if profile is not None:
        spy = subprocess.Popen(
            [str(Path(sys.executable).with_name("py-spy")), "record", "--pid", str(pid)]
            + ["--format", "raw", "--rate", "200", "--nonblocking", "--gil"]  # CPU only
            + ["--duration", str(int(seconds)), "-o", str(profile)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    cpu_before = cpu_seconds(pid)
    deadline = time.monotonic() + seconds
    workers = [Worker(port, deadline, relogin, n) for n in range(clients)]
    start = time.monotonic()
    pss_peak = 0.0
    for worker in workers:
        worker.start()
    while any(w.is_alive() for w in workers):
        pss_peak = max(pss_peak, pss_mib(pid))
        time.sleep(0.5)
    elapsed = time.monotonic() - start
    cpu = cpu_seconds(pid) - cpu_before
    if spy is not None:
        spy.wait()
    total: Counter[str] = Counter()
    errors: list[str] = []
    for worker in workers:
        total.update(worker.counts)
        errors.extend(worker.errors)
    commands = sum(total.values())
    return {
        "rate": {name: total[name] / elapsed for name in COMMANDS},
        "cpu_ms": 1000 * cpu / max(commands, 1),
        "pss": pss_peak,
        "errors": errors,
    }


def imaplib_append_medians(ports: dict[str, int], rounds: int) -> dict[str, float]:
    """Median milliseconds of one APPEND from Python's imaplib (Nagle left on), per server.

    The servers take turns message by message (the order flips every round), so a
    change in the machine's load falls on both alike.
    """
    clients = {}
    for name, port in ports.items():
        clients[name] = imaplib.IMAP4("127.0.0.1", port)
        clients[name].login(USER, PASSWORD)
    timings: dict[str, list[float]] = {name: [] for name in ports}
    rng = random.Random(9051)
    for n in range(rounds):
        data = make_message(rng, 500_000 + n)
        order = list(clients.items())
        for name, imap in order if n % 2 == 0 else reversed(order):
            start = time.perf_counter()
            imap.append("INBOX", None, None, data)
            timings[name].append((time.perf_counter() - start) * 1000)
    for imap in clients.values():
        imap.logout()
    return {name: statistics.median(values) for name, values in timings.items()}


def connections_by_process(pid: int, port: int) -> list[int]:
    """Established connections to ``port`` held by each process under ``pid`` (sorted)."""
    inodes = set()
    with open("/proc/net/tcp") as fh:
        for line in fh.readlines()[1:]:
            fields = line.split()
            if int(fields[1].split(":")[1], 16) == port and fields[3] == "01":
                inodes.add(f"socket:[{fields[9]}]")
    counts = []
    for member in process_tree(pid):
        try:
            links = [
                os.readlink(f"/proc/{member}/fd/{fd}") for fd in os.listdir(f"/proc/{member}/fd")
            ]
        except OSError:
            continue
        held = sum(link in inodes for link in links)
        if held:
            counts.append(held)
    return sorted(counts)


def measured(pid: int) -> Callable[[Callable[[], str]], tuple[str, float, float]]:
    """A wrapper that runs a load and returns (its output, server CPU ms, peak PSS MiB).

    CPU ms is the server tree's total here; the caller divides it per command.
    """

    def measure(call: Callable[[], str]) -> tuple[str, float, float]:
        result: list[str] = []
        cpu_before = cpu_seconds(pid)
        thread = threading.Thread(target=lambda: result.append(call()), daemon=True)
        thread.start()
        peak = 0.0
        while thread.is_alive():
            peak = max(peak, pss_mib(pid))
            thread.join(0.5)
        return (result[0] if result else ""), 1000 * (cpu_seconds(pid) - cpu_before), peak

    return measure


def imaptest_modes(
    binary: Path, servers: dict[str, tuple[int, int]], work: Path, args: argparse.Namespace
) -> None:
    """Each imaptest mode against each server in turn; print totals and ratios."""
    mbox = write_mbox(work / "imaptest.mbox")
    for mode in MODES:
        if mode not in args.modes.split(","):
            continue
        runs = {}
        for name, (pid, port) in servers.items():
            spread: list[list[int]] = []
            if name == "mailrs" and args.imapd_processes > 1:
                threading.Timer(
                    args.seconds / 2,
                    lambda p=pid, q=port, out=spread: out.append(connections_by_process(p, q)),
                ).start()
            run = run_imaptest(binary, port, mode, mbox, args.clients, args.seconds, measured(pid))
            if spread:
                print(f"{mode}: mailrs connections by imapd process mid-run: {spread[0]}")
            run.cpu_ms /= max(sum(run.totals.values()), 1)
            runs[name] = run
        print_table(mode, runs["mailrs"], runs["dovecot"])


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the child and wait for it."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main() -> int:
    """Run both modes on both servers and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--append-rounds", type=int, default=40)
    parser.add_argument(
        "--modes", default="stress,logout=0,login", help="comma-separated (login: imaptest only)"
    )
    parser.add_argument("--imaptest", type=Path, help="imaptest binary: use it as the load")
    parser.add_argument(
        "--dovecot-fsync",
        default="optimized",
        choices=("never", "optimized", "always"),
        help="Dovecot's mail_fsync (default optimized, Dovecot's and Debian's own: fsyncs "
        "each saved message, as mailrs does; never: does not)",
    )
    parser.add_argument("--profile", type=Path, help="py-spy mailrs into DIR/<mode>.txt")
    parser.add_argument(
        "--imapd-processes", type=int, default=1, help="[imap] processes (imapd's own children)"
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="imap-load-"))
    work.chmod(0o755)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        mailrs_proc, mailrs_port, maildir, settings = start_mailrs(work, args.imapd_processes)
        procs.append(mailrs_proc)
        fill_maildir(maildir, args.messages)
        # Dovecot's auth cache on, like mailrs' credential cache: logins compare fairly
        cache = "auth_cache_size = 1M\nauth_cache_ttl = 60 s\n"
        dovecot_proc, dovecot_port, _ = start_dovecot(
            work, maildir, password_hash(settings), cache, fsync=args.dovecot_fsync
        )
        procs.append(dovecot_proc)
        servers = {
            "mailrs": (mailrs_proc.pid, mailrs_port),
            "dovecot": (dovecot_proc.pid, dovecot_port),
        }
        print(
            f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} CPUs, "
            f"{args.clients} clients, {args.seconds:.0f} s per mode, {args.messages} messages, "
            f"Dovecot mail_fsync={args.dovecot_fsync}, imapd processes {args.imapd_processes}, "
            f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}"
        )
        time.sleep(2)  # the children started
        print(
            f"idle PSS: mailrs {pss_mib(mailrs_proc.pid):.1f} MiB "
            f"({len(process_tree(mailrs_proc.pid))} processes), "
            f"Dovecot {pss_mib(dovecot_proc.pid):.1f} MiB"
        )
        if args.append_rounds:
            ports = {name: port for name, (_, port) in servers.items()}
            medians = imaplib_append_medians(ports, args.append_rounds)
            for name, median in medians.items():
                print(f"imaplib APPEND median {name}: {median:.2f} ms")
            ratio = medians["mailrs"] / max(medians["dovecot"], 1e-9)
            print(f"imaplib APPEND median ratio mailrs / dovecot: {ratio:.2f}")
        if args.imaptest is not None:
            imaptest_modes(args.imaptest, servers, work, args)
            return 0
        for mode, relogin in (("stress", True), ("logout=0", False)):
            if mode not in args.modes.split(","):
                continue
            results = {}
            for name, (pid, port) in servers.items():
                profile = None
                if args.profile is not None and name == "mailrs":
                    args.profile.mkdir(parents=True, exist_ok=True)
                    profile = args.profile / f"{mode}.txt"
                results[name] = run_load(pid, port, args.clients, args.seconds, relogin, profile)
            print(f"\nmode {mode}: commands per second")
            print(f"| {'command':8} | {'mailrs':>8} | {'dovecot':>8} | {'ratio':>6} |")
            print("|----------|----------|----------|--------|")
            ours, theirs = results["mailrs"]["rate"], results["dovecot"]["rate"]
            for command in COMMANDS:
                a, b = ours[command], theirs[command]  # type: ignore[index]
                if a == 0 and b == 0:
                    continue
                print(f"| {command:8} | {a:8.1f} | {b:8.1f} | {a / max(b, 1e-9):6.2f} |")
            for name, result in results.items():
                errors: list[str] = result["errors"]  # type: ignore[assignment]
                print(
                    f"{name}: {result['cpu_ms']:.2f} CPU ms/command, peak PSS "
                    f"{result['pss']:.1f} MiB, {len(errors)} client errors"
                    + (f" (first: {errors[0]})" if errors else "")
                )
    finally:
        for proc in procs:
            stop(proc)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
