"""IMAP benchmark: mailrs imapd against Dovecot on the same generated 10,000-message Maildir.

Usage: ``python bench/imap_bench.py [--messages 10000] [--rounds 30]``

Builds a throw-away installation under a temporary directory (config, SQLite database,
one user), writes N messages into the user's INBOX, copies that Maildir for Dovecot,
writes a Dovecot config for a loopback port (passwd-file user with the very same
Argon2id hash, so both servers pay the same password cost) and runs ``dovecot -F -c``
as a child that is stopped at the end. Each row is timed on both servers after one
warm-up run; p50 and p99 are printed in milliseconds, with the mailrs/Dovecot ratio.
Nothing is asserted: this prints figures.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mailrs.accounts.users import add_user  # noqa: E402
from mailrs.config import load_settings  # noqa: E402
from mailrs.db.engine import Database  # noqa: E402
from mailrs.db.migrate import upgrade  # noqa: E402
from mailrs.db.models import User  # noqa: E402
from mailrs.store.events import NewMail, publish_event  # noqa: E402
from mailrs.store.filenames import unique_name  # noqa: E402

USER = "bench@example.test"
PASSWORD = "bench password 123"
WORDS = [
    "invoice",
    "meeting",
    "project",
    "report",
    "budget",
    "review",
    "schedule",
    "travel",
    "lunch",
    "contract",
    "draft",
    "release",
    "server",
    "client",
    "backup",
    "network",
    "design",
    "proposal",
    "feedback",
    "deadline",
    "summary",
]
RARE = "zeppelinfeather"
LITERAL = re.compile(rb"\{(\d+)\}\r\n$")


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- data ------------------------------------------------------------------------------------


def make_message(rng: random.Random, n: int) -> bytes:
    """One plausible message; every 200th mentions the rare word."""
    sender = f"sender{n % 500}@example.org"
    subject = " ".join(rng.choice(WORDS) for _ in range(5)) + f" #{n}"
    lines = [" ".join(rng.choice(WORDS) for _ in range(12)) for _ in range(rng.randint(5, 40))]
    if n % 200 == 0:
        lines.insert(len(lines) // 2, f"please bring the {RARE} tomorrow")
    body = "\r\n".join(lines)
    return (
        f"From: Sender {n % 500} <{sender}>\r\nTo: {USER}\r\nSubject: {subject}\r\n"
        f"Date: Mon, 4 Mar 2024 10:{n % 60:02d}:00 +0000\r\n"
        f"Message-ID: <bench{n}@example.org>\r\n\r\n{body}\r\n"
    ).encode()


def fill_maildir(maildir: Path, count: int) -> None:
    """Write ``count`` messages straight into cur/ (a third of them \\Seen)."""
    rng = random.Random(3501)
    base = time.time() - count
    for n in range(count):
        data = make_message(rng, n)
        name = f"{unique_name()},S={len(data)}:2,{'S' if n % 3 else ''}"
        path = maildir / "cur" / name
        path.write_bytes(data)
        os.utime(path, (base + n, base + n))


def deliver_file(maildir: Path, data: bytes) -> None:
    """A Maildir delivery: tmp/, then rename into new/."""
    name = f"{unique_name()},S={len(data)}"
    tmp = maildir / "tmp" / name
    tmp.write_bytes(data)
    os.rename(tmp, maildir / "new" / name)


# -- a minimal, literal-aware IMAP client ------------------------------------------------------


class Client:
    """Just enough IMAP to time commands precisely (literals are read by size)."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=600)
        self.file = self.sock.makefile("rb")
        self.counter = 0
        self.read_response()  # greeting

    def read_response(self) -> bytes:
        """One response line with its literals."""
        line = self.file.readline()
        if not line:
            raise ConnectionError("server closed the connection")
        out = line
        while (match := LITERAL.search(line)) is not None:
            out += self.file.read(int(match.group(1)))
            line = self.file.readline()
            out += line
        return out

    def command(self, text: str) -> list[bytes]:
        """Send a command and read up to its tagged reply (which must be OK)."""
        self.counter += 1
        tag = f"b{self.counter}".encode()
        self.sock.sendall(tag + b" " + text.encode() + b"\r\n")
        lines = []
        while True:
            line = self.read_response()
            lines.append(line)
            if line.startswith(tag + b" "):
                if not line.startswith(tag + b" OK"):
                    raise RuntimeError(f"{text!r} failed: {line!r}")
                return lines

    def close(self) -> None:
        """LOGOUT and close."""
        with contextlib.suppress(OSError, ConnectionError, RuntimeError):
            self.command("LOGOUT")
        self.file.close()
        self.sock.close()


# -- the two servers -----------------------------------------------------------------------------


def start_mailrs(
    work: Path, processes: int = 1
) -> tuple[subprocess.Popen[bytes], int, Path, object]:
    """Provision mailrs with the user and start imapd (``processes`` of them on one port):
    (process, port, maildir, settings)."""
    port = free_port()
    config = work / "mailrs.toml"
    config.write_text(
        f'mode = "development"\n[smtp]\nlocal_domains = ["example.test"]\n'
        f'[imap]\nlisten_addr = "127.0.0.1:{port}"\nplaintext_auth = "always"\n'
        f"processes = {processes}\n"
        f'[api]\njwt_secret = "bench-only-not-a-secret-0123456789"\n[storage]\ndata_dir = "data"\n'
        # The login throttle counts attempts in flight; 10 clients logging in at once from
        # one IP are not a password guesser (Dovecot, the comparison, has no such limit).
        "[auth]\nmax_failures_per_account = 100000\nmax_failures_per_ip = 100000\n"
    )
    settings = load_settings(config, environ={})
    upgrade(settings.database_url)
    database = Database.from_settings(settings)
    from mailrs.store.maildir import MaildirStore

    store = MaildirStore(settings.maildir_path)
    with database.session() as session:
        add_user(session, store, USER, PASSWORD)
    database.dispose()
    maildir = store.user_dir(USER)
    return _spawn_mailrs(config), port, maildir, settings


def _spawn_mailrs(config: Path) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "imapd", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if b"listening" not in line:
        proc.kill()
        raise RuntimeError(f"imapd did not start: {line!r}")
    return proc


def password_hash(settings: object) -> str:
    """The user's Argon2id hash from the mailrs database (shared with Dovecot)."""
    database = Database.from_settings(settings)  # type: ignore[arg-type]
    try:
        with database.session() as session:
            user = session.query(User).filter_by(address=USER).one()
            return str(user.password_hash)
    finally:
        database.dispose()


def start_dovecot(
    work: Path, source: Path, hashed: str, extra: str = "", fsync: str = "optimized"
) -> tuple[subprocess.Popen[bytes], int, Path]:
    """Copy the Maildir, write a config (plus ``extra`` lines) and run ``dovecot -F -c``.

    ``fsync`` is Dovecot's ``mail_fsync``: its own (and Debian's) default, ``optimized``,
    fsyncs a saved message before answering, as mailrs always does; ``never`` does not."""
    dovecot = shutil.which("dovecot") or "/usr/sbin/dovecot"
    home = work / "dovecot"
    maildir = home / "Maildir"
    shutil.copytree(source, maildir, ignore=shutil.ignore_patterns("mailrs-index.sqlite*"))
    owner = "dovecot"
    import pwd

    entry = pwd.getpwnam(owner) if os.geteuid() == 0 else pwd.getpwuid(os.geteuid())
    uid, gid = entry.pw_uid, entry.pw_gid
    for sub in ("run", "state"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    passwd = home / "passwd"
    scheme = "{ARGON2ID}" if hashed.startswith("$argon2id$") else "{PLAIN}"
    secret = hashed if scheme == "{ARGON2ID}" else PASSWORD
    passwd.write_text(f"{USER}:{scheme}{secret}\n")
    if os.geteuid() == 0:
        for path in [home, *home.rglob("*")]:
            os.chown(path, uid, gid)
    port = free_port()
    config = home / "dovecot.conf"
    config.write_text(
        f"""protocols = imap
listen = 127.0.0.1
base_dir = {home}/run
state_dir = {home}/state
log_path = {home}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
first_valid_uid = {min(uid, 100)}
mail_location = maildir:{maildir}
mail_fsync = {fsync}
default_internal_user = {owner}
default_login_user = dovenull
passdb {{
  driver = passwd-file
  args = {passwd}
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={home}
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
{extra}"""
    )
    proc = subprocess.Popen([dovecot, "-F", "-c", str(config)], stderr=subprocess.PIPE)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, port, maildir
        except OSError:
            if proc.poll() is not None:
                reason = proc.stderr.read() if proc.stderr else b""
                raise RuntimeError(f"dovecot exited: {reason!r}") from None
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("dovecot did not start")


# -- the measurements ---------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


class Target:
    """One server under test: its port, Maildir, delivery notice and open sessions."""

    def __init__(self, name: str, port: int, maildir: Path, notify: Callable[[], None]) -> None:
        self.name = name
        self.port = port
        self.maildir = maildir
        self.notify = notify
        self.client = self.login()
        selected = self.client.command("SELECT INBOX")
        self.exists = int(next(r for r in selected if r.endswith(b"EXISTS\r\n")).split()[1])
        self.uids = [
            int(r.split(b"UID ")[1].split(b")")[0].split()[0])
            for r in self.client.command("FETCH 1:* (UID)")
            if r.startswith(b"* ") and b"FETCH" in r
        ]
        self.idle = self.login()
        self.idle.command("SELECT INBOX")

    def login(self) -> Client:
        """A new logged-in session."""
        client = Client(self.port)
        client.command(f'LOGIN {USER} "{PASSWORD}"')
        return client

    def close(self) -> None:
        """Log the sessions out."""
        self.client.close()
        self.idle.close()


def login_select(target: Target, _: int) -> None:
    """Connect, LOGIN, SELECT INBOX, LOGOUT."""
    client = target.login()
    client.command("SELECT INBOX")
    client.close()


def fetch_flags(target: Target, _: int) -> None:
    """FETCH 1:* (FLAGS UID) on the open session."""
    target.client.command("FETCH 1:* (FLAGS UID)")


def fetch_100(target: Target, n: int) -> None:
    """UID FETCH of 100 whole messages (the same range on both servers in a round)."""
    start = random.Random(n).randrange(0, max(1, len(target.uids) - 100))
    target.client.command(f"UID FETCH {target.uids[start]}:{target.uids[start + 99]} (BODY.PEEK[])")


def search_header(target: Target, n: int) -> None:
    """SEARCH FROM one of the 500 senders."""
    target.client.command(f'SEARCH FROM "sender{n % 500}@"')


def search_body(target: Target, _: int) -> None:
    """SEARCH BODY for a word in 1 message of 200."""
    target.client.command(f'SEARCH BODY "{RARE}"')


def idle_wakeup(target: Target, n: int) -> float:
    """Milliseconds from a delivery into new/ to the EXISTS of a session in IDLE."""
    idle = target.idle
    idle.counter += 1
    tag = f"i{idle.counter}".encode()
    idle.sock.sendall(tag + b" IDLE\r\n")
    assert idle.read_response().startswith(b"+")
    time.sleep(0.3)
    start = time.perf_counter()
    deliver_file(target.maildir, make_message(random.Random(n), 100_000 + n))
    target.notify()
    while True:
        line = idle.read_response()
        if line.endswith(b"EXISTS\r\n") and int(line.split()[1]) > target.exists:
            target.exists = int(line.split()[1])
            break
    waited = (time.perf_counter() - start) * 1000
    idle.sock.sendall(b"DONE\r\n")
    while not idle.read_response().startswith(tag + b" "):
        pass
    return waited


ROWS: dict[str, Callable[[Target, int], object]] = {
    "login + SELECT": login_select,
    "FETCH 1:* (FLAGS UID)": fetch_flags,
    "UID FETCH 100 full messages": fetch_100,
    "SEARCH FROM (header)": search_header,
    "SEARCH BODY (text)": search_body,
    "IDLE wake-up after delivery": idle_wakeup,
}


def measure(targets: list[Target], rounds: int) -> dict[str, dict[str, list[float]]]:
    """Every row, the servers taking turns in each round so both see the same machine load."""
    results: dict[str, dict[str, list[float]]] = {}
    for row, action in ROWS.items():
        per_server: dict[str, list[float]] = {t.name: [] for t in targets}
        for target in targets:
            action(target, -1)  # warm-up (the first search also builds mailrs' text index)
        for n in range(rounds):
            for target in targets if n % 2 == 0 else reversed(targets):
                start = time.perf_counter()
                value = action(target, n)
                elapsed = (time.perf_counter() - start) * 1000
                per_server[target.name].append(value if isinstance(value, float) else elapsed)
        results[row] = per_server
    return results


def main() -> int:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="imap-bench-"))
    work.chmod(0o755)  # Dovecot's own users must reach their files below
    procs: list[subprocess.Popen[bytes]] = []
    try:
        mailrs_proc, mailrs_port, maildir, settings = start_mailrs(work)
        procs.append(mailrs_proc)
        print(f"generating {args.messages} messages in {maildir} ...", flush=True)
        fill_maildir(maildir, args.messages)
        dovecot_proc, dovecot_port, dovecot_maildir = start_dovecot(
            work, maildir, password_hash(settings)
        )
        procs.append(dovecot_proc)
        print("Dovecot mail_fsync=optimized (its default)", flush=True)

        def notify_mailrs() -> None:
            # what the pipeline's deliver stage does after writing the file
            publish_event(settings, USER, NewMail(folder="INBOX"))  # type: ignore[arg-type]

        targets = [
            Target("mailrs", mailrs_port, maildir, notify_mailrs),
            Target("dovecot", dovecot_port, dovecot_maildir, lambda: None),
        ]
        print("measuring (the servers take turns) ...", flush=True)
        results = measure(targets, args.rounds)
        for target in targets:
            target.close()
        print()
        print(f"{args.messages} messages, {args.rounds} rounds, milliseconds")
        columns = "mailrs p50 | mailrs p99 | dovecot p50 | dovecot p99 | p50 ratio"
        header = f"| {'operation':32} | {columns} |"
        print(header)
        print("|" + "|".join("-" * (len(c)) for c in header.split("|")[1:-1]) + "|")
        for row, per_server in results.items():
            ours, theirs = per_server["mailrs"], per_server["dovecot"]
            ratio = statistics.median(ours) / max(statistics.median(theirs), 1e-6)
            print(
                f"| {row:32} | {percentile(ours, 50):10.2f} | {percentile(ours, 99):10.2f} "
                f"| {percentile(theirs, 50):11.2f} | {percentile(theirs, 99):11.2f} "
                f"| {ratio:9.2f} |"
            )
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        if os.environ.get("KEEP_BENCH"):
            print("kept", work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
