"""The ``imapd`` process: load settings, listen (plain + STARTTLS, and implicit TLS),
serve connections within per-IP and per-user limits, stop on SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import signal
import ssl
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from imapd.backend import Backend
from imapd.connection import Connection
from imapd.framing import Limits
from imapd.policy import ServerPolicy
from mailrs.accounts.throttle import LoginThrottle
from mailrs.config import Settings, load_settings, parse_hostport
from mailrs.db.engine import Database
from mailrs.errors import ConfigError
from mailrs.logs import setup_logging
from mailrs.metrics.exposition import serve_own_endpoint
from mailrs.metrics.instruments import instruments
from mailrs.metrics.process import setup as setup_metrics
from mailrs.store import folder_watch
from mailrs.store.maildir import MaildirStore
from mailrs.tls import ensure_dev_pair, server_context

log = logging.getLogger("imapd")
SHUTDOWN_GRACE_SECS = 5.0
LOG_FORMAT = "%(asctime)s %(name)s %(levelname)s %(message)s"
WORKER_THREADS = 32


class ImapServer:
    """Accepts clients and keeps track of their connections for limits and shutdown."""

    def __init__(
        self,
        backend: Backend,
        limits: Limits,
        timeout: float,
        policy: ServerPolicy | None = None,
    ) -> None:
        self.backend = backend
        self.limits = limits
        self.timeout = timeout
        self.policy = policy or ServerPolicy()
        self._tasks: set[asyncio.Task[None]] = set()
        self._per_ip: Counter[str] = Counter()
        self._per_user: Counter[str] = Counter()

    async def handle(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, tls: bool = False
    ) -> None:
        """Serve one client (the callback of ``asyncio.start_server``)."""
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        peer = writer.get_extra_info("peername")
        ip = peer[0] if isinstance(peer, tuple) else ""
        self._per_ip[ip] += 1
        users: list[str] = []

        def on_login(address: str) -> bool:
            key = address.lower()
            if self._per_user[key] >= self.policy.max_connections_per_user:
                return False
            self._per_user[key] += 1
            users.append(key)
            return True

        refuse = self._per_ip[ip] > self.policy.max_connections_per_ip
        instruments().imapd_connections.labels(
            "imaps" if tls else "imap", "refused" if refuse else "accepted"
        ).inc()
        try:
            connection = Connection(
                reader, writer, self.backend, self.limits, self.timeout, self.policy, tls, on_login
            )
            await connection.run(refuse=refuse)
        except asyncio.CancelledError:
            pass  # shutdown: the connection has said BYE and closed
        finally:
            self._per_ip[ip] -= 1
            if self._per_ip[ip] <= 0:
                del self._per_ip[ip]
            for key in users:
                self._per_user[key] -= 1
                if self._per_user[key] <= 0:
                    del self._per_user[key]
            if task is not None:
                self._tasks.discard(task)

    async def handle_tls(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve one client of the implicit-TLS listener."""
        await self.handle(reader, writer, tls=True)

    async def close_connections(self) -> None:
        """Say BYE to every client and wait (briefly) for the connections to end."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=SHUTDOWN_GRACE_SECS)


def _display(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def build_policy(settings: Settings) -> ServerPolicy:
    """The server rules from the ``[imap]`` settings; raises ConfigError on a bad TLS pair."""
    imap = settings.imap
    context: ssl.SSLContext | None = None
    if imap.tls_cert_path:
        if settings.is_development:  # like smtpd: a missing dev pair is made self-signed
            ensure_dev_pair(imap.tls_cert_path, imap.tls_key_path, settings.smtp.hostname)
        context = server_context(imap.tls_cert_path, imap.tls_key_path)
    return ServerPolicy(
        tls_context=context,
        plaintext_auth=imap.plaintext_auth,
        throttle=LoginThrottle(settings),
        max_connections_per_ip=imap.max_connections_per_ip,
        max_connections_per_user=imap.max_connections_per_user,
    )


async def serve(settings: Settings) -> int:
    """Run the server until SIGTERM or SIGINT; returns the process exit status."""
    loop = asyncio.get_running_loop()
    loop.set_default_executor(ThreadPoolExecutor(WORKER_THREADS, thread_name_prefix="imapd"))
    imap_cfg = settings.imap
    host, port = parse_hostport(imap_cfg.listen_addr, "imap.listen_addr")
    try:
        policy = build_policy(settings)
    except ConfigError as exc:
        print(f"imapd: {exc}", file=sys.stderr)
        return 2
    literal = imap_cfg.max_literal_bytes
    limits = Limits(
        max_line=imap_cfg.max_line_bytes,
        max_literal=literal,
        max_command=literal + 4 * imap_cfg.max_line_bytes,
        literal_deadline=float(imap_cfg.literal_deadline_secs),
    )
    database = Database.from_settings(settings, pool_size=WORKER_THREADS)  # sized together
    if setup_metrics(settings) and settings.metrics.imapd_addr:
        serve_own_endpoint(settings.metrics.imapd_addr)
    backend = Backend(database, MaildirStore(settings.maildir_path), settings)
    # sessions learn of changed files from the kernel instead of listing cur/ each command
    if folder_watch.enable() is None:
        log.warning("no inotify: every command compares the selected folder with the index")
    imap = ImapServer(backend, limits, float(imap_cfg.timeout_secs), policy)
    listeners = []
    current = imap_cfg.listen_addr
    try:
        listeners.append(
            await asyncio.start_server(imap.handle, host, port, limit=limits.max_line + 2)
        )
        current = imap_cfg.tls_listen_addr
        if imap_cfg.tls_listen_addr:
            tls_host, tls_port = parse_hostport(imap_cfg.tls_listen_addr, "imap.tls_listen_addr")
            listeners.append(
                await asyncio.start_server(
                    imap.handle_tls,
                    tls_host,
                    tls_port,
                    limit=limits.max_line + 2,
                    ssl=policy.tls_context,
                    ssl_handshake_timeout=30,
                )
            )
    except OSError as exc:
        reason = exc.strerror or str(exc)
        print(f"imapd: cannot listen on {current}: {reason}", file=sys.stderr)
        for listener in listeners:
            listener.close()
        return 1
    stop = asyncio.Event()
    # Plain Python handlers, not loop.add_signal_handler: asyncio learns of a signal
    # from the byte it finds in the loop's wakeup pipe, and when many thread hops finish
    # at once (1,000 sessions closing) that pipe is full, the byte is dropped and the
    # SIGTERM lost (with a traceback printed). A Python handler always runs.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: loop.call_soon_threadsafe(stop.set))
    bound_port = listeners[0].sockets[0].getsockname()[1]
    print(f"IMAP server listening on {_display(host, bound_port)}", flush=True)
    if len(listeners) > 1:
        tls_bound = listeners[1].sockets[0].getsockname()
        log.info("IMAPS listening on %s", _display(tls_bound[0], tls_bound[1]))
    try:
        await stop.wait()
    finally:
        log.info("shutting down")
        for listener in listeners:
            listener.close()
        await imap.close_connections()
        for listener in listeners:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(listener.wait_closed(), SHUTDOWN_GRACE_SECS)
        backend.close()
        folder_watch.disable()
        await asyncio.to_thread(database.dispose)
    return 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line: ``imapd [--config PATH]``."""
    parser = argparse.ArgumentParser(prog="imapd", description="The mailrs IMAP server.")
    parser.add_argument("--config", metavar="PATH", help="the mailrs.toml to use")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``imapd`` and ``python -m imapd``."""
    args = parse_args(argv)
    try:
        settings = load_settings(args.config)  # checks imap.listen_addr too
    except ConfigError as exc:
        print(f"imapd: {exc}", file=sys.stderr)
        return 2
    setup_logging(settings, LOG_FORMAT)
    try:
        # Full collections walk every cached message of every open mailbox (tens of
        # thousands of objects): with Python's default thresholds one came every ~10
        # commands and added ~30 ms to that command. Objects alive now are never
        # collected, and young ones are collected less often; cycles still are.
        gc.freeze()
        gc.set_threshold(50_000, 50, 100)
        return asyncio.run(serve(settings))
    except KeyboardInterrupt:
        return 0
