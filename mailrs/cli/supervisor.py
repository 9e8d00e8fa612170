"""``mailrs up``: run smtpd, imapd, the web server and a Celery worker as child processes.

Each child gets the same config file. A service counts as started once its port accepts
connections (the worker: once it says it is ready). If any child dies, the others are
stopped and the exit status says which one and why; SIGINT/SIGTERM stop all cleanly.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mailrs.config import Settings, parse_hostport

STOP_TIMEOUT = 15.0
START_TIMEOUT = 60.0


@dataclass
class Service:
    """One child process and how to tell that it is ready."""

    name: str
    label: str
    argv: list[str]
    address: tuple[str, int] | None = None
    ready_text: str | None = None
    url_prefix: str = ""
    also: tuple[str, ...] = ()  # further "X listening on Y" lines once it is ready
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    log_path: Path | None = None
    log_offset: int = 0


class StartupError(Exception):
    """A service could not be started; the message says which and why."""


class Interrupted(Exception):
    """SIGINT or SIGTERM arrived while the services were starting."""


def _die_with_parent() -> None:
    """In the child: get SIGTERM if the supervisor dies, so nothing is orphaned."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def bind_error(host: str, port: int) -> str | None:
    """Why host:port cannot be listened on (e.g. 'Address already in use'), or None."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        return f"cannot resolve {host}: {exc.strerror}"
    family, _, _, _, sockaddr = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(sockaddr)
        except OSError as exc:
            return exc.strerror or str(exc)
    return None


def accepts_connections(host: str, port: int) -> bool:
    """True when a TCP connection to host:port succeeds."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def plan_services(settings: Settings, config_path: Path) -> list[Service]:
    """The child processes of one machine's mailrs."""
    py = sys.executable
    cfg = str(config_path)
    smtp = parse_hostport(settings.smtp.listen_addr, "smtp.listen_addr")
    imap = parse_hostport(settings.imap.listen_addr, "imap.listen_addr")
    api = parse_hostport(settings.api.listen_addr, "api.listen_addr")
    broker = (
        f"embedded file broker in {settings.broker_dir}"
        if settings.embedded_broker
        else _redact(settings.celery.broker_url)
    )
    smtp_also = tuple(
        f"SMTP {label} listening on {addr}"
        for label, addr in (
            (
                "submission (STARTTLS)" if settings.smtp.enable_tls else "submission",
                settings.smtp.submission_addr,
            ),
            (
                "submissions (implicit TLS)",
                settings.smtp.submissions_addr if settings.smtp.enable_tls else "",
            ),
        )
        if addr
    )
    imap_also = (
        (f"IMAPS (implicit TLS) listening on {settings.imap.tls_listen_addr}",)
        if settings.imap.tls_listen_addr
        else ()
    )
    return [
        Service(
            "smtpd",
            "SMTP server",
            [py, "-m", "smtpd", "--config", cfg],
            address=smtp,
            also=smtp_also,
        ),
        Service(
            "imapd",
            "IMAP server",
            [py, "-m", "imapd", "--config", cfg],
            address=imap,
            also=imap_also,
        ),
        Service(
            "web",
            "Web UI",
            [
                py,
                "-m",
                "gunicorn",
                "--config",
                "python:mailrs.cli.gunicorn_conf",  # the settings gunicorn.conf.py uses
                "--bind",
                settings.api.listen_addr,
                "--env",
                f"MAILRS_CONFIG={cfg}",
                "web:create_app()",
            ],
            address=api,
            url_prefix="http://",
        ),
        Service(
            "worker",
            f"Celery worker ({broker})",
            [py, "-m", "mailrs", "worker", "--config", cfg],
            ready_text="ready.",
        ),
    ]


def _redact(url: str) -> str:
    """A broker URL without its password."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}" if ":" in creds else url
    return url


class Supervisor:
    """Starts, watches and stops the services."""

    def __init__(
        self,
        services: list[Service],
        log_dir: Path,
        env: dict[str, str],
        echo: Callable[[str], None] = print,
    ) -> None:
        self.services = services
        self.log_dir = log_dir
        self.env = env
        self.echo = echo
        self._stopping = False
        self._signals: list[int] = []

    def catch_signals(self) -> None:
        """From now on SIGINT/SIGTERM mean "stop cleanly"; call before starting anything."""

        def on_signal(signum: int, _frame: object) -> None:
            self._signals.append(signum)

        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)

    def check_ports(self) -> None:
        """Refuse to start when a port is taken."""
        for service in self.services:
            if service.address and (reason := bind_error(*service.address)):
                host, port = service.address
                raise StartupError(f"{service.label}: cannot listen on {host}:{port}: {reason}")

    def start(self) -> None:
        """Start every service and wait until each is ready."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for service in self.services:
            service.log_path = self.log_dir / f"{service.name}.log"
            # Readiness is read from what this run writes, not from an earlier run's log.
            service.log_offset = service.log_path.stat().st_size if service.log_path.exists() else 0
            with open(service.log_path, "ab") as log:
                service.process = subprocess.Popen(
                    service.argv,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    env=self.env,
                    preexec_fn=_die_with_parent,
                    start_new_session=True,
                )
        for service in self.services:
            self._wait_ready(service)
            if service.address:
                host, port = service.address
                self.echo(f"{service.label} listening on {service.url_prefix}{host}:{port}")
            else:
                self.echo(f"{service.label} ready")
            for line in service.also:
                self.echo(line)

    def _wait_ready(self, service: Service) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        assert service.process is not None
        while time.monotonic() < deadline:
            if self._signals:
                raise Interrupted()
            code = service.process.poll()
            if code is not None:
                raise StartupError(self._death_reason(service, code))
            if service.address and accepts_connections(*service.address):
                return
            if service.ready_text and service.ready_text in self._new_output(service):
                return
            time.sleep(0.1)
        raise StartupError(
            f"{service.label} did not become ready in {START_TIMEOUT:.0f}s "
            f"(log: {service.log_path})"
        )

    @staticmethod
    def _new_output(service: Service) -> str:
        """What the service wrote to its log since it was started."""
        if service.log_path is None or not service.log_path.exists():
            return ""
        with open(service.log_path, "rb") as fh:
            fh.seek(service.log_offset)
            return fh.read().decode("utf-8", "replace")

    def _death_reason(self, service: Service, code: int) -> str:
        last = _tail(service.log_path).strip().splitlines() if service.log_path else []
        hint = f": {last[-1]}" if last else ""
        how = f"signal {-code}" if code < 0 else f"code {code}"
        return f"{service.name} exited with {how}{hint} (log: {service.log_path})"

    def watch(self) -> int:
        """Block until a signal (exit 0) or a dead child (exit 1)."""
        while not self._signals:
            for service in self.services:
                assert service.process is not None
                code = service.process.poll()
                if code is not None:
                    self.echo(f"mailrs: {self._death_reason(service, code)}; stopping the others")
                    self.stop()
                    return 1
            time.sleep(0.2)
        self.echo("mailrs: stopping")
        self.stop()
        return 0

    def stop(self) -> None:
        """SIGTERM every running child, then SIGKILL what is left after a timeout."""
        if self._stopping:
            return
        self._stopping = True
        running = [s.process for s in self.services if s.process and s.process.poll() is None]
        for process in running:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        for process in running:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _tail(path: Path | None, size: int = 4096) -> str:
    if path is None or not path.exists():
        return ""
    with open(path, "rb") as fh:
        fh.seek(max(0, path.stat().st_size - size))
        return fh.read().decode("utf-8", "replace")
