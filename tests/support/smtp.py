"""A real smtpd (and optionally a worker) for the SMTP tests, and clients to talk to it."""

from __future__ import annotations

import smtplib
import socket
import ssl
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from mailrs.accounts.aliases import add_alias
from mailrs.config import Settings, load_settings, parse_hostport
from mailrs.db.engine import Database
from mailrs.store.maildir import MaildirStore
from mailrs.tls import write_selfsigned
from support.config import free_port, provision
from support.processes import Proc, mailrs_argv, python_m, running, service_env, wait_until

ALICE = "alice@example.test"
BOB = "bob@example.test"
CAROL = "carol@example.org"
USERS = (ALICE, BOB, CAROL)


def password_of(address: str) -> str:
    """The test password that ``support.config.provision`` gives an account."""
    return f"{address.split('@')[0]} password"


@dataclass
class Server:
    """A running smtpd and what the tests need to reach it."""

    settings: Settings
    env: dict[str, str]
    proc: Proc
    config: Path
    worker: Proc | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def addr(self, listener: str = "mx") -> tuple[str, int]:
        """host, port of ``mx``, ``submission`` or ``submissions``."""
        smtp = self.settings.smtp
        value = {
            "mx": smtp.listen_addr,
            "submission": smtp.submission_addr,
            "submissions": smtp.submissions_addr,
        }[listener]
        return parse_hostport(value)

    def client(self, listener: str = "mx") -> smtplib.SMTP:
        """smtplib on a plain listener (MX or submission)."""
        host, port = self.addr(listener)
        return smtplib.SMTP(host, port, timeout=30)

    def tls_client(self) -> smtplib.SMTP_SSL:
        """smtplib on the implicit-TLS listener."""
        host, port = self.addr("submissions")
        return smtplib.SMTP_SSL(host, port, timeout=30, context=client_tls())

    def store(self) -> MaildirStore:
        """The Maildir store the worker delivers into."""
        return MaildirStore(self.settings.maildir_path)

    def count(self, user: str) -> int:
        """How many messages ``user`` has in INBOX."""
        return len(self.store().list_messages(user))

    def messages(self, user: str) -> list[bytes]:
        """The bytes of every message in ``user``'s INBOX."""
        store = self.store()
        return [
            store.read(user, "INBOX", found.key, found.filename)
            for found in store.list_messages(user)
        ]

    def wait_count(self, user: str, expected: int, timeout: float = 30) -> bool:
        """Wait until ``user`` has ``expected`` messages (and no more)."""
        return wait_until(lambda: self.count(user) >= expected, timeout) and (
            self.count(user) == expected
        )

    def output(self) -> str:
        """smtpd's output so far."""
        return self.proc.output


def client_tls() -> ssl.SSLContext:
    """A client context that accepts the test's self-signed certificate."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def setup_data(settings: Settings, aliases: tuple[tuple[str, str], ...]) -> None:
    """Add alias rows."""
    db = Database.from_settings(settings)
    with db.session() as session:
        for source, destination in aliases:
            add_alias(session, source, destination)
        session.commit()
    db.dispose()


@contextmanager
def smtp_server(
    directory: Path,
    *,
    worker: bool = False,
    tls: bool = True,
    broker_url: str = "",
    aliases: tuple[tuple[str, str], ...] = (),
    **env_extra: str,
) -> Iterator[Server]:
    """Provision users, start smtpd (with TLS on all three listeners) and maybe a worker."""
    config = provision(directory, broker_url=broker_url, users=USERS)
    extra = {
        "MAILRS_AUTH_BASE_DELAY_SECS": "0.05",
        "MAILRS_AUTH_MAX_DELAY_SECS": "0.2",
        "MAILRS_CELERY_SWEEP_INTERVAL_SECS": "1",
        "MAILRS_CELERY_SWEEP_GRACE_SECS": "2",
    }
    if tls:
        cert, key = write_selfsigned(directory / "tls", "mx.example.test")
        extra.update(
            MAILRS_SMTP_ENABLE_TLS="true",
            MAILRS_SMTP_TLS_CERT_PATH=str(cert),
            MAILRS_SMTP_TLS_KEY_PATH=str(key),
            MAILRS_SMTP_SUBMISSIONS_ADDR=f"127.0.0.1:{free_port()}",
        )
    extra.update(env_extra)
    env = service_env(config, **extra)
    settings = load_settings(config, environ={k: v for k, v in env.items() if "MAILRS_" in k})
    setup_data(settings, aliases)
    with ExitStack() as stack:
        proc = stack.enter_context(
            running(python_m("smtpd", "--config", str(config)), "SMTP server listening", env=env)
        )
        proc.wait_for("startup sweep")
        server = Server(settings, env, proc, config, extra=extra)
        if worker:
            server.worker = stack.enter_context(
                running(mailrs_argv("worker", "--config", str(config)), "ready.", env=env)
            )
        yield server


def read_reply(reader: object) -> bytes:
    """One whole (possibly multi-line) reply from a socket file; returns its last line."""
    line = reader.readline()  # type: ignore[attr-defined]
    while line[3:4] == b"-":
        line = reader.readline()  # type: ignore[attr-defined]
    return line


class RawSession:
    """A socket conversation with exact bytes, for the attack and syntax tests."""

    def __init__(self, server: Server, listener: str = "mx") -> None:
        self.sock = socket.create_connection(server.addr(listener), timeout=30)
        self.reader = self.sock.makefile("rb")
        self.greeting = self.reader.readline()

    def send(self, data: bytes) -> None:
        """Write bytes as they are."""
        self.sock.sendall(data)

    def reply(self) -> bytes:
        """The next reply (last line of a multi-line one)."""
        return read_reply(self.reader)

    def command(self, line: bytes) -> bytes:
        """Send one command line (CRLF added) and return its reply."""
        self.send(line + b"\r\n")
        return self.reply()

    def close(self) -> None:
        """Close the connection."""
        self.reader.close()
        self.sock.close()

    def __enter__(self) -> RawSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def reply_of(named: str) -> tuple[int, bytes]:
    """A reply of ``smtpd.replies`` as smtplib returns it: (code, text after the code)."""
    code, _, text = named.partition(" ")
    return int(code), text.encode()


def status(named: str) -> bytes:
    """The basic and enhanced codes of a named reply, e.g. ``b"550 5.1.1"`` (for raw lines)."""
    return b" ".join(named.encode().split(b" ")[:2])
