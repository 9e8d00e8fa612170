"""``mailrs up``: run smtpd, imapd, the web server and a Celery worker as child processes.

Each child gets the same config file. A service counts as started once its port accepts
connections (the worker: once it says it is ready). At start-up a service that cannot
start (a port taken, a bad certificate) stops everything with one line; a worker that
waits for an unreachable broker does not hold up the rest (the platform runs degraded:
smtpd spools, and the worker delivers once the broker is there). Once up, a child that
dies is logged with its exit status and restarted with backoff
(``mailrs.cli.restart_policy``); only repeated fast crashes stop everything. The state
of every service goes to ``<data_dir>/run/status.json`` for ``mailrs status``.
SIGINT/SIGTERM stop all cleanly.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mailrs.cli.restart_policy import CrashHistory, describe_exit
from mailrs.cli.runstate import RunState, ServiceState, process_start, state_file, write_state
from mailrs.cli.zygote import Forked, fork_service

STOP_TIMEOUT = 15.0
START_TIMEOUT = 60.0
DEGRADED_AFTER = 5.0  # how long start-up waits for the worker before checking the broker
POLL_SECS = 0.2


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
    # What the fork server calls in a forked child (``module:function``) with
    # ``sys.argv = entry_argv``; None: always exec ``argv``.
    entry: str | None = None
    entry_argv: list[str] = field(default_factory=list)
    # The last stage of the fork server's preload it may be forked from (0: the common
    # libraries only; 1: Celery and kombu too). Started in that order; a service whose
    # stage the supervisor has gone past (the web app, once Celery is loaded) is exec'd
    # when it is restarted.
    stage: int = 0
    # Why the service is not ready when that is outside its control (the broker), or None.
    waits_for: Callable[[], str | None] | None = field(default=None, repr=False)
    process: subprocess.Popen[bytes] | Forked | None = field(default=None, repr=False)
    log_path: Path | None = None
    log_offset: int = 0
    status: ServiceState = field(init=False)
    history: CrashHistory = field(default_factory=CrashHistory, repr=False)
    started_mono: float = 0.0
    restart_at: float | None = None

    def __post_init__(self) -> None:
        self.status = ServiceState(self.name, "stopped")


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


def broker_wait(config_path: Path, embedded_queue: Path | None) -> Callable[[], str | None]:
    """A check naming why the worker cannot reach its broker (None when it can).

    A broker server is checked from a child process, so kombu is never loaded here."""

    def check() -> str | None:
        from mailrs.broker.check import OK, check_broker_apart

        verdict = check_broker_apart(config_path, embedded_queue)
        return None if verdict == OK else verdict

    return check


def services_from_plan(plan: dict[str, Any]) -> list[Service]:
    """The services of a plan written by ``mailrs.cli.plan.write_plan``."""
    queue = plan.get("embedded_queue")
    wait = broker_wait(Path(plan["config"]), Path(queue) if queue else None)
    return [
        Service(
            item["name"],
            item["label"],
            list(item["argv"]),
            address=(item["address"][0], int(item["address"][1])) if item["address"] else None,
            ready_text=item["ready_text"],
            url_prefix=item["url_prefix"],
            also=tuple(item["also"]),
            waits_for=wait if item["broker_wait"] else None,
            entry=item.get("entry"),
            entry_argv=list(item.get("entry_argv") or ()),
            stage=int(item.get("stage") or 0),
        )
        for item in plan["services"]
    ]


class Supervisor:
    """Starts, watches, restarts and stops the services."""

    def __init__(
        self,
        services: list[Service],
        log_dir: Path,
        env: dict[str, str],
        echo: Callable[[str], None] = print,
        state_path: Path | None = None,
        fork_server: bool = False,
    ) -> None:
        self.services = services
        # True once this process holds the preload (``mailrs.cli.zygote``): services with
        # an entry are forked from it instead of exec'd.
        self.fork_server = fork_server
        # The preload's further stages (``zygote.preload_more``), loaded in turn before
        # the first service of the next stage is forked; each returns why forking is
        # unsafe from then on, or None.
        self.next_stages: list[Callable[[], str | None]] = []
        self.stage = 0  # the last stage loaded
        self.log_dir = log_dir
        self.env = env
        self.echo = echo
        self.state_path = state_path or state_file(log_dir.parent)
        self._stopping = False
        self._signals: list[int] = []
        pid = os.getpid()
        self.run = RunState(pid, process_start(pid), time.time(), "starting")
        self.run.services = [service.status for service in services]

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

    def save(self) -> None:
        """Write the state file for ``mailrs status``."""
        write_state(self.state_path, self.run)

    # -- starting ----------------------------------------------------------------------

    def _spawn(self, service: Service) -> None:
        """Start one service's process (its own process group, output to its log)."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        service.log_path = self.log_dir / f"{service.name}.log"
        # Readiness is read from what this run writes, not from an earlier run's log.
        service.log_offset = service.log_path.stat().st_size if service.log_path.exists() else 0
        if self.fork_server and service.entry and service.stage >= self.stage:
            title = " ".join(service.entry_argv)
            process: subprocess.Popen[bytes] | Forked = fork_service(
                service.entry, service.entry_argv, service.log_path, title
            )
        else:
            process = self._exec(service)
        service.process = process
        service.started_mono = time.monotonic()
        service.restart_at = None
        status = service.status
        status.state = "starting"
        status.pid = process.pid
        status.pid_start = process_start(process.pid)
        status.started_at = time.time()
        status.note = ""
        self.save()

    def _exec(self, service: Service) -> subprocess.Popen[bytes]:
        """Start ``service.argv`` in a fresh interpreter."""
        assert service.log_path is not None
        with open(service.log_path, "ab") as log:
            return subprocess.Popen(
                service.argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self.env,
                preexec_fn=_die_with_parent,
                start_new_session=True,
            )

    def start(self) -> None:
        """Start every service and wait until each is ready (or waits only on the broker)."""
        for service in sorted(self.services, key=lambda s: s.stage):
            while self.fork_server and service.stage > self.stage and self.next_stages:
                self._load_stage(self.next_stages.pop(0))
            self._spawn(service)
        for service in self.services:
            if not self._wait_ready(service):
                continue
            service.status.state = "running"
            self.save()
            self._announce(service)
        self.run.state = "running"
        self.save()

    def _load_stage(self, load: Callable[[], str | None]) -> None:
        """Load the fork server's next stage; if it fails, exec the services still to start."""
        reason = load()
        if reason is None:
            self.stage += 1
            return
        self.echo(f"mailrs: starting the other services in their own interpreter ({reason})")
        self.fork_server = False

    def _announce(self, service: Service) -> None:
        if service.address:
            host, port = service.address
            self.echo(f"{service.label} listening on {service.url_prefix}{host}:{port}")
        else:
            self.echo(f"{service.label} ready")
        for line in service.also:
            self.echo(line)

    def _wait_ready(self, service: Service) -> bool:
        """Block until ``service`` is ready (True) or waits only for the broker (False)."""
        deadline = time.monotonic() + START_TIMEOUT
        checked_at = time.monotonic() + DEGRADED_AFTER
        assert service.process is not None
        while time.monotonic() < deadline:
            if self._signals:
                raise Interrupted()
            code = service.process.poll()
            if code is not None:
                raise StartupError(self._startup_death(service, code))
            if self._is_ready(service):
                return True
            if service.waits_for is not None and time.monotonic() >= checked_at:
                reason = service.waits_for()
                if reason is not None:
                    service.status.state = "waiting"
                    service.status.note = f"waiting for the broker: {reason}"
                    self.save()
                    self.echo(
                        f"{service.label}: waiting for the broker ({reason}); running degraded:"
                        " mail is accepted into the spool and delivered once the broker is back"
                    )
                    return False
                checked_at = time.monotonic() + DEGRADED_AFTER
            time.sleep(0.1)
        raise StartupError(
            f"{service.label} did not become ready in {START_TIMEOUT:.0f}s "
            f"(log: {service.log_path})"
        )

    def _is_ready(self, service: Service) -> bool:
        if service.address:
            return accepts_connections(*service.address)
        return bool(service.ready_text and service.ready_text in self._new_output(service))

    @staticmethod
    def _new_output(service: Service) -> str:
        """What the service wrote to its log since it was started."""
        if service.log_path is None or not service.log_path.exists():
            return ""
        with open(service.log_path, "rb") as fh:
            fh.seek(service.log_offset)
            return fh.read().decode("utf-8", "replace")

    def _startup_death(self, service: Service, code: int) -> str:
        """One line for a service that died before it was ready at start-up."""
        last = _tail(service.log_path).strip().splitlines() if service.log_path else []
        hint = f": {last[-1]}" if last else ""
        return f"{service.name} {describe_exit(code)}{hint} (log: {service.log_path})"

    # -- watching ----------------------------------------------------------------------

    def watch(self) -> int:
        """Restart what dies until a signal (exit 0) or repeated fast crashes (exit 1)."""
        while not self._signals:
            for service in self.services:
                if not self._tend(service):
                    self.run.state = "failed"
                    self.stop()
                    return 1
            time.sleep(POLL_SECS)
        self.echo("mailrs: stopping")
        self.stop()
        return 0

    def _tend(self, service: Service) -> bool:
        """Look after one service; False when it crashed too often and all must stop."""
        status = service.status
        if service.restart_at is not None:
            if time.monotonic() >= service.restart_at:
                status.restarts += 1
                self._spawn(service)
            return True
        process = service.process
        assert process is not None
        code = process.poll()
        if code is None:
            if status.state in ("starting", "waiting") and self._is_ready(service):
                was_waiting = status.state == "waiting"
                status.state, status.note = "running", ""
                self.save()
                if was_waiting:
                    self.echo(f"mailrs: {service.label} ready (the broker is reachable)")
                elif status.restarts:
                    self.echo(f"mailrs: {service.name} is running again (pid {process.pid})")
            return True
        _kill_group(process.pid)  # whatever it left behind (e.g. gunicorn's worker)
        now = time.monotonic()
        uptime = now - service.started_mono
        how = describe_exit(code)
        delay = service.history.record(now, uptime, code)
        status.state = "backoff" if delay is not None else "failed"
        status.pid = status.pid_start = None
        status.last_exit, status.last_exit_at = how, time.time()
        self.save()
        died = f"mailrs: {service.name} (pid {process.pid}) {how} after {uptime:.1f}s"
        if delay is None:
            self.echo(
                f"{died}; it crashed {len(service.history.fast_crashes)} times within a minute:"
                f" giving up and stopping the others (log: {service.log_path})"
            )
            return False
        self.echo(f"{died}; restarting in {delay:.2f}s (log: {service.log_path})")
        service.restart_at = now + delay
        return True

    # -- stopping ----------------------------------------------------------------------

    def stop(self) -> None:
        """SIGTERM every running child, then SIGKILL what is left after a timeout."""
        if self._stopping:
            return
        self._stopping = True
        if self.run.state != "failed":
            self.run.state = "stopping"
        self.save()
        running = [s.process for s in self.services if s.process and s.process.poll() is None]
        for process in running:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        for process in running:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _kill_group(process.pid)
                process.wait()
            _kill_group(process.pid)
        for service in self.services:
            service.restart_at = None
            if service.status.state != "failed":
                service.status.state = "stopped"
            service.status.pid = service.status.pid_start = None
        if self.run.state != "failed":
            self.run.state = "stopped"
        self.save()


def _kill_group(pgid: int) -> None:
    """SIGKILL what is left of a child's process group (its own session)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _tail(path: Path | None, size: int = 4096) -> str:
    if path is None or not path.exists():
        return ""
    with open(path, "rb") as fh:
        fh.seek(max(0, path.stat().st_size - size))
        return fh.read().decode("utf-8", "replace")
