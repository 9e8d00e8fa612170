"""Start real mailrs processes for tests, wait until they are ready, always stop them."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


class Proc:
    """A child process whose combined output is collected line by line."""

    def __init__(
        self, argv: list[str], env: dict[str, str] | None = None, cwd: Path | None = None
    ) -> None:
        self.argv = argv
        self.lines: list[str] = []
        self._cond = threading.Condition()
        self.popen = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for raw in self.popen.stdout:
            with self._cond:
                self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    @property
    def output(self) -> str:
        """Everything printed so far."""
        with self._cond:
            return "\n".join(self.lines)

    def wait_for(self, text: str, timeout: float = 120.0) -> str:
        """Block until a line containing ``text`` appears; fail if the process dies first.

        The default is generous: under a parallel run on a loaded machine a start can take
        many seconds (a hang still fails, and no test asserts on wall time)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for line in self.lines:
                    if text in line:
                        return line
                if self.popen.poll() is not None and not self._reader.is_alive():
                    raise AssertionError(
                        f"{self.argv[:4]} exited with {self.popen.returncode} before {text!r}:\n"
                        + "\n".join(self.lines[-30:])
                    )
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"timed out waiting for {text!r} from {self.argv[:4]}:\n"
                        + "\n".join(self.lines[-30:])
                    )
                self._cond.wait(min(remaining, 0.5))

    def stop(self, timeout: float = 20.0) -> int:
        """SIGTERM, then SIGKILL the whole process group if it does not exit in time."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self._kill_group()
        return self.popen.returncode

    def kill(self) -> None:
        """SIGKILL the process (not its group: a crash kills one process)."""
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait(timeout=10)

    def _kill_group(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGKILL)


@contextmanager
def running(
    argv: list[str],
    ready: str,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 120.0,
) -> Iterator[Proc]:
    """Run a process until the block ends; it is stopped even if the test fails."""
    proc = Proc(argv, env=env, cwd=cwd)
    try:
        proc.wait_for(ready, timeout)
        yield proc
    finally:
        proc.stop()


def service_env(config_path: Path, **extra: str) -> dict[str, str]:
    """The environment for a child: this venv first on PATH and the test's config."""
    env = {
        "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "HOME": os.environ.get("HOME", "/root"),
        "LANG": "C.UTF-8",
        "MAILRS_CONFIG": str(config_path),
        "PYTHONUNBUFFERED": "1",
    }
    env.update(extra)
    return env


def mailrs_argv(*args: str) -> list[str]:
    """Run the ``mailrs`` CLI of this interpreter."""
    return [sys.executable, "-m", "mailrs", *args]


def python_m(module: str, *args: str) -> list[str]:
    """Run ``python -m module`` with this interpreter."""
    return [sys.executable, "-m", module, *args]


def wait_until(predicate, timeout: float = 60.0, interval: float = 0.1) -> bool:  # type: ignore[no-untyped-def]
    """Poll ``predicate`` until it is true or the timeout passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


def mailrs_up(config: Path, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    """Run ``mailrs up`` with ``config`` until the block ends (it is up on entry)."""
    return running(
        mailrs_argv("up", "--config", str(config)),
        "mailrs is up",
        env=env or service_env(config),
        cwd=config.parent,
        timeout=240,
    )


def flask_mail_user(env: dict[str, str], *args: str, stdin: str = "") -> None:
    """Run ``flask mail-user ARGS`` from the repository root; fail the test if it fails."""
    result = subprocess.run(
        [str(VENV_BIN / "flask"), "mail-user", *args],
        input=stdin,
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


def children_of(pid: int) -> list[int]:
    """Living (not zombie) processes whose parent is ``pid``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[1]) == pid:
            found.append(int(entry))
    return found


def alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def tcp_server_pid(server_port: int, client_port: int, pids: list[int]) -> int | None:
    """Which of ``pids`` holds the server end of the IPv4 TCP connection between these
    local ports (from ``/proc/net/tcp`` and each process's descriptors)."""
    inode = ""
    with open("/proc/net/tcp") as fh:
        for line in fh.readlines()[1:]:
            fields = line.split()
            local, remote = fields[1].split(":")[1], fields[2].split(":")[1]
            if int(local, 16) == server_port and int(remote, 16) == client_port:
                inode = fields[9]
    if not inode:
        return None
    for pid in pids:
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    if os.readlink(f"/proc/{pid}/fd/{fd}") == f"socket:[{inode}]":
                        return pid
    return None
