"""The fork server of ``mailrs up``: the libraries every service loads, imported once.

``mailrs up``'s supervisor imports ``PRELOAD`` (SQLAlchemy with the models, the config,
the mailbox store, the email package, asyncio, ...) before it starts anything, makes
them immortal (``mailrs.cli.immortal``), freezes the garbage collector over them, and
forks each service from itself instead of starting a fresh interpreter. A forked
service calls its usual entry point (``smtpd.server:main``, ``imapd.server:main``,
gunicorn's, ``mailrs worker``'s) and imports its own extras: the pages of the common part
are shared by every service, and PSS counts them once.

The preload only imports modules: no thread, no database engine, no socket, no open
file, no logging set-up, no TLS context exist when a service is forked, and a service
restarted after a crash is forked again from the same clean state. The forked child
becomes what an exec'd one was: its own session, SIGTERM when the supervisor dies,
default signal handlers, output to its log, ``/dev/null`` as input, its own process title
(``setproctitle``; the kernel's short name otherwise). When the preload fails, or
``MAILRS_FORK_SERVER=0``, the supervisor execs each service's command line as before.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import gc
import importlib
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path

from mailrs.cli.immortal import immortalize

ENV = "MAILRS_FORK_SERVER"

# What smtpd, imapd, the web app and the worker all import (measured with a fresh
# interpreter per service: ``tests/integration/test_service_imports.py``), then what
# two or three of them import (the web app and the worker: cryptography through the
# domains' DKIM keys, sievelib; smtpd, the web app and the worker: the accept path).
# Not Celery and kombu (smtpd's and the worker's): the web app must import them after
# gevent patched the standard library (kombu keeps ``time.sleep`` as imported), and
# nothing that only one service uses (nothing to share, and the pages that service
# writes to would be held twice).
PRELOAD = (
    "argparse",
    "asyncio",
    "email.parser",
    "email.policy",
    "email.message",
    "email.utils",
    "ssl",
    "sqlite3",
    "sqlalchemy",
    "sqlalchemy.orm",
    "sqlalchemy.dialects.sqlite",
    "prometheus_client",
    "argon2",
    "click",
    "mailrs.config",
    "mailrs.db.engine",
    "mailrs.db.models",
    "mailrs.logs",
    "mailrs.metrics.process",
    "mailrs.metrics.instruments",
    "mailrs.accounts.users",
    "mailrs.accounts.sessions",
    "mailrs.store.mailbox",
    "mailrs.inbound.spam.learning",
    "mailrs.queue.states",
    "mailrs.tls",
    "concurrent.futures",
    "queue",
    "xml.etree.ElementTree",
    "mailrs.accounts.counters",
    "mailrs.accounts.domains",
    "mailrs.accounts.quota",
    "mailrs.accounts.resolve",
    "mailrs.accounts.throttle",
    "mailrs.metrics.exposition",
    "mailrs.queue.accept",
    "mailrs.queue.spool",
    "mailrs.queue.trace",
    "mailrs.sieve.grammar",
    "mailrs.sieve.storage",
    "mailrs.store.content",
    "mailrs.store.usage",
)


# The second stage, imported once the web app is forked (it never is from this state):
# Celery, kombu and the publishing path that smtpd and the worker share (~8 MiB that
# smtpd held on its own). imapd and the web app use none of it.
PRELOAD_BROKER = (
    "celery",
    "celery.app.task",
    "kombu",
    "kombu.transport.virtual",
    "amqp",
    "billiard",
    "vine",
    "yaml",
    "dateutil.parser",
    "dateutil.tz",
    "tzlocal",
    "mailrs.celery",
    "mailrs.broker.embedded",
    "mailrs.broker.redis_transport",
    "mailrs.queue.canvas",
    "mailrs.queue.publish",
    "mailrs.queue.submission",
)


def enabled() -> bool:
    """False when ``MAILRS_FORK_SERVER=0`` asks for one exec'd interpreter per service."""
    return os.environ.get(ENV, "1").strip().lower() not in ("0", "no", "false", "off")


def preload(modules: tuple[str, ...] = PRELOAD) -> str | None:
    """Import ``modules`` and freeze the collector over them; why forking is unsafe, or None."""
    if reason := _import_all(modules):
        return reason
    from sqlalchemy.orm import configure_mappers

    # Mappers are configured on first use; done here, in every service it writes to
    # (and copies) the pages of every mapper and relationship.
    configure_mappers()
    return _settle()


def preload_more(modules: tuple[str, ...] = PRELOAD_BROKER) -> str | None:
    """A further stage of the preload (``PRELOAD_BROKER``); why forking is unsafe, or None."""
    return _import_all(modules) or _settle()


def _import_all(modules: tuple[str, ...]) -> str | None:
    for name in modules:
        try:
            __import__(name)  # not importlib.import_module: -X importtime shows this one
        except Exception as exc:  # an optional library missing: exec that service instead
            return f"cannot preload {name}: {type(exc).__name__}: {exc}"
    return None


def _settle() -> str | None:
    if threads := _other_threads():
        return f"the preload started {threads} thread(s)"
    gc.collect()
    # Reading an object writes its reference count: immortal ones are left alone.
    immortalize()
    # Objects alive now move to a generation the collector never walks: a collection in a
    # service then never writes to (and so never copies) the shared pages that hold them.
    gc.freeze()
    return None


def _other_threads() -> int:
    """How many threads besides this one the process runs (a fork would lose them)."""
    try:
        return len(os.listdir("/proc/self/task")) - 1
    except OSError:
        return threading.active_count() - 1


class Forked:
    """A forked service, with the part of ``subprocess.Popen`` the supervisor uses."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        """The exit status (``-N`` for signal N, as Popen) once it ended; None while it runs."""
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:  # reaped elsewhere: report it gone
                self.returncode = -signal.SIGKILL
                return self.returncode
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the end (``subprocess.TimeoutExpired`` after ``timeout`` seconds)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while (code := self.poll()) is None:
            if deadline is not None and time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired(str(self.pid), timeout or 0.0)
            time.sleep(0.02)
        return code

    def send_signal(self, signum: int) -> None:
        """Send ``signum`` unless it has already been reaped."""
        if self.poll() is None:
            os.kill(self.pid, signum)


def fork_service(entry: str, argv: list[str], log_path: Path, title: str) -> Forked:
    """Fork the service ``entry`` (``module:function``), run with ``sys.argv = argv``."""
    sys.stdout.flush()
    sys.stderr.flush()
    log_fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        pid = os.fork()
    except OSError:
        os.close(log_fd)
        raise
    if pid:
        os.close(log_fd)
        return Forked(pid)
    code = 70  # EX_SOFTWARE: the child could not become the service
    try:
        _become_service(log_fd, argv, title)
        code = _run(entry)
    except BaseException:
        with contextlib.suppress(BaseException):
            traceback.print_exc()
    finally:
        _finish(code)
    raise AssertionError("unreachable")  # _finish never returns


def _become_service(log_fd: int, argv: list[str], title: str) -> None:
    """In the child: what a fresh ``Popen(..., start_new_session=True)`` process would be."""
    parent = os.getppid()
    os.setsid()
    _die_with_parent()
    if os.getppid() != parent:  # the supervisor died before the line above
        os._exit(1)
    for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGCHLD):
        signal.signal(signum, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    os.closerange(3, _max_fd())  # nothing of the supervisor's stays open
    sys.argv = list(argv)
    set_title(title)


def _run(entry: str) -> int:
    """Call the entry point; its return value or ``SystemExit`` as an exit status."""
    module, _, function = entry.partition(":")
    try:
        result = getattr(importlib.import_module(module), function)()
    except SystemExit as done:
        result = done.code
    if result is None:
        return 0
    if isinstance(result, int):
        return result
    print(result, file=sys.stderr)
    return 1


def _finish(code: int) -> None:
    """End the child as the interpreter would: non-daemon threads, atexit, flush; exit."""
    with contextlib.suppress(BaseException):
        threading._shutdown()  # type: ignore[attr-defined]  # what Py_Finalize calls first
    with contextlib.suppress(BaseException):
        atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(BaseException):
            stream.flush()
    os._exit(code & 0xFF if code >= 0 else 1)


def _die_with_parent() -> None:
    """Get SIGTERM when the supervisor dies, so nothing is orphaned."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _max_fd() -> int:
    try:
        return os.sysconf("SC_OPEN_MAX")
    except (ValueError, OSError):
        return 4096


def set_title(title: str) -> None:
    """The name ``ps`` shows: the whole title with setproctitle, else the kernel's 15 bytes."""
    try:
        from setproctitle import setproctitle
    except ImportError:
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL("libc.so.6", use_errno=True)
            libc.prctl(15, title.encode()[:15], 0, 0, 0)  # PR_SET_NAME
        return
    setproctitle(title)
