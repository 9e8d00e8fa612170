"""Helpers for the IMAP tests: run the real ``imapd`` process and talk raw IMAP to it."""

from __future__ import annotations

import os
import re
import select
import socket
import subprocess
import sys
import time
from pathlib import Path

ALICE = "alice@example.test"
ALICE_PASSWORD = "correct horse battery"
# Generous: a start under a parallel run on a loaded machine can take many seconds.
START_TIMEOUT = 120.0
LISTENING = re.compile(r"^IMAP server listening on (.+):(\d+)$")


class ImapProcess:
    """One ``python -m imapd --config PATH`` process; ``stop`` always ends it."""

    def __init__(self, config_path: Path, log_path: Path, env: dict[str, str] | None = None):
        self.config_path = config_path
        self.log_path = log_path
        # A crash below Python (a segfault in a C extension or ctypes) leaves no
        # traceback unless faulthandler prints the stacks.
        self.env = {"PYTHONFAULTHANDLER": "1", **os.environ, **(env or {})}
        self.proc: subprocess.Popen[str] | None = None
        self.exited_by_itself: int | None = None
        self.host = ""
        self.port = 0

    def start(self) -> ImapProcess:
        """Start the server and wait for its ``IMAP server listening`` line."""
        with open(self.log_path, "a") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "imapd", "--config", str(self.config_path)],
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                env=self.env,
            )
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], START_TIMEOUT)
        line = self.proc.stdout.readline().strip() if ready else ""
        match = LISTENING.match(line)
        if match is None:
            self.stop()
            raise RuntimeError(f"imapd did not start: {line!r}\n{self.log_path.read_text()}")
        self.host, self.port = match.group(1), int(match.group(2))
        return self

    def stop(self) -> int | None:
        """Terminate the server (kill it if it lingers); returns its exit status."""
        if self.proc is None:
            return None
        proc, self.proc = self.proc, None
        if proc.poll() is not None:
            self.exited_by_itself = proc.returncode
        else:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
        return proc.returncode

    def restart(self) -> ImapProcess:
        """Stop and start again with the same configuration."""
        self.stop()
        return self.start()


class RawClient:
    """A byte-level IMAP client for what real clients never send."""

    def __init__(self, host: str, port: int, timeout: float = 10.0) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buffer = b""
        self.received = b""
        self.greeting = self.read_line()

    def close(self) -> None:
        """Close the socket."""
        self.sock.close()

    def send(self, data: bytes) -> None:
        """Send raw bytes."""
        self.sock.sendall(data)

    def _fill(self) -> bool:
        chunk = self.sock.recv(65536)
        self.received += chunk
        self.buffer += chunk
        return bool(chunk)

    def read_line(self) -> bytes:
        """One response line without CRLF (b"" at end of input)."""
        while b"\r\n" not in self.buffer:
            if not self._fill():
                line, self.buffer = self.buffer, b""
                return line
        line, _, self.buffer = self.buffer.partition(b"\r\n")
        return line

    def read_exact(self, size: int) -> bytes:
        """Exactly ``size`` bytes (a literal's data)."""
        while len(self.buffer) < size:
            if not self._fill():
                break
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def until_tagged(self, tag: bytes) -> list[bytes]:
        """Every line up to and including the one tagged ``tag``."""
        lines = []
        while True:
            line = self.read_line()
            lines.append(line)
            if line.startswith(tag + b" ") or line == b"":
                return lines

    def command(self, tag: bytes, text: bytes) -> list[bytes]:
        """Send ``tag text`` CRLF and read up to its tagged reply."""
        self.send(tag + b" " + text + b"\r\n")
        return self.until_tagged(tag)

    def is_closed(self, wait: float = 5.0) -> bool:
        """True when the server has closed the connection (after any pending lines)."""
        deadline = time.monotonic() + wait
        self.sock.settimeout(0.2)
        try:
            while time.monotonic() < deadline:
                try:
                    if not self._fill():
                        return True
                except TimeoutError:
                    continue
                except ConnectionError:
                    return True
            return False
        finally:
            self.sock.settimeout(10.0)


def sample_message(subject: str, body: str = "Hello", sender: str = "bob@example.test") -> bytes:
    """A small plain-text message."""
    return (
        f"From: Bob <{sender}>\r\nTo: alice@example.test\r\nSubject: {subject}\r\n"
        f"Date: Mon, 4 Mar 2024 10:00:00 +0100\r\n"
        f"Message-ID: <{abs(hash(subject))}@example.test>\r\n"
        f"\r\n{body}\r\n"
    ).encode()


def tracebacks_in(log: str, context: int = 3) -> str:
    """The log's tracebacks, each with the lines logged just before it (a long
    log's tail alone would hide a traceback from early on)."""
    lines = log.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("Traceback")]
    parts = []
    for start in starts[:5]:
        end = start + 1
        while end < len(lines) and (lines[end][:1].isspace() or not lines[end][:4].isdigit()):
            end += 1
        parts.append("\n".join(lines[max(0, start - context) : end + 1]))
    return f"{len(starts)} traceback(s) in the server log:\n" + "\n...\n".join(parts)


class ServerHarness:
    """A provisioned data directory (users alice and bob) and an imapd on it.

    With ``tls``, a self-signed pair is made and an implicit-TLS listener added on
    ``tls_port``; ``env`` adds or overrides ``MAILRS_`` settings.
    """

    def __init__(
        self, directory: Path, env: dict[str, str] | None = None, *, tls: bool = False
    ) -> None:
        from mailrs.config import load_settings
        from mailrs.store.maildir import MaildirStore
        from mailrs.tls import write_selfsigned
        from support.config import free_port, provision

        env = dict(env or {})
        self.tls_port = 0
        if tls:
            cert, key = write_selfsigned(directory, "localhost")
            self.tls_port = free_port()
            env = {
                "MAILRS_IMAP_TLS_CERT_PATH": str(cert),
                "MAILRS_IMAP_TLS_KEY_PATH": str(key),
                "MAILRS_IMAP_TLS_LISTEN_ADDR": f"127.0.0.1:{self.tls_port}",
                **env,
            }
        self.directory = directory
        self.config = provision(directory, users=(ALICE, "bob@example.test"))
        self.settings = load_settings(self.config, environ={})
        self.store = MaildirStore(self.settings.maildir_path)
        self.server = ImapProcess(self.config, directory / "imapd.log", env)

    def start(self) -> ServerHarness:
        """Start the server."""
        self.server.start()
        return self

    def stop(self) -> None:
        """Stop the server and check its log for tracebacks."""
        self.server.stop()
        log = self.server.log_path.read_text()
        assert "Traceback" not in log, tracebacks_in(log)
        assert "Fatal Python error" not in log, log[-6000:]
        died = self.server.exited_by_itself
        assert died is None, f"imapd exited by itself with status {died}:\n{log[-3000:]}"
