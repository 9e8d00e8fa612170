"""The ``imapd`` process: load settings, listen (plain + STARTTLS, and implicit TLS),
serve connections within per-IP and per-user limits, stop on SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import socket
import ssl
import sys
from concurrent.futures import ThreadPoolExecutor

from imapd.accept import Acceptor, Handler, process_key
from imapd.backend import Backend
from imapd.connection import Connection
from imapd.framing import Limits
from imapd.policy import ServerPolicy
from imapd.stop_signal import on_stop_signal
from mailrs.accounts.throttle import LoginThrottle
from mailrs.config import Settings, load_settings, parse_hostport
from mailrs.db.engine import Database
from mailrs.errors import ConfigError
from mailrs.logs import setup_logging
from mailrs.metrics.exposition import serve_own_endpoint
from mailrs.metrics.instruments import instruments
from mailrs.metrics.process import setup as setup_metrics
from mailrs.prefork import Bound, bind_all, run_children, watch_parent
from mailrs.shared_counts import SharedCounts
from mailrs.store import folder_watch
from mailrs.store.maildir import MaildirStore
from mailrs.tls import ensure_dev_pair, server_context

log = logging.getLogger("imapd")
SHUTDOWN_GRACE_SECS = 5.0
LOG_FORMAT = "%(asctime)s %(name)s %(levelname)s %(message)s"
WORKER_THREADS = 32


TOTAL = "*"  # the key of every connection in ``SharedCounts`` (IPs are "ip:...", users "user:...")


def connection_counts(policy: ServerPolicy) -> SharedCounts:
    """The connection counts of every imapd process: one key in all, one per IP and per user."""
    return SharedCounts(2 * policy.max_connections + 1)


class ImapServer:
    """Accepts clients and keeps track of their connections for limits and shutdown.

    The connections are counted in ``counts`` (made before the fork when several imapd
    processes share the listeners), so the limits hold over all of them.
    """

    def __init__(
        self,
        backend: Backend,
        limits: Limits,
        timeout: float,
        policy: ServerPolicy | None = None,
        counts: SharedCounts | None = None,
        gauge: str = "",
    ) -> None:
        self.backend = backend
        self.limits = limits
        self.timeout = timeout
        self.policy = policy or ServerPolicy()
        self.counts = counts or connection_counts(self.policy)
        self.gauge = gauge  # this process's connections, for its siblings (imapd.accept)
        self._tasks: set[asyncio.Task[None]] = set()

    def live(self) -> int:
        """The connections this process serves now."""
        return len(self._tasks)

    def _publish(self) -> None:
        if self.gauge:
            self.counts.set(self.gauge, len(self._tasks))

    def _admit(self, ip: str) -> bool:
        """Count a new connection; False (nothing counted) when over a limit."""
        if not self.counts.take(TOTAL, self.policy.max_connections):
            return False
        if self.counts.take(f"ip:{ip}", self.policy.max_connections_per_ip):
            return True
        self.counts.give(TOTAL)
        return False

    async def handle(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, tls: bool = False
    ) -> None:
        """Serve one client (the callback of ``asyncio.start_server``)."""
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
            self._publish()
        peer = writer.get_extra_info("peername")
        ip = peer[0] if isinstance(peer, tuple) else ""
        users: list[str] = []

        def on_login(address: str) -> bool:
            key = f"user:{address.lower()}"
            if not self.counts.take(key, self.policy.max_connections_per_user):
                return False
            users.append(key)
            return True

        refuse = not self._admit(ip)
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
            if not refuse:
                self.counts.give(f"ip:{ip}")
                self.counts.give(TOTAL)
            for key in users:
                self.counts.give(key)
            if task is not None:
                self._tasks.discard(task)
                self._publish()

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
        max_connections=imap.max_connections,
        max_connections_per_ip=imap.max_connections_per_ip,
        max_connections_per_user=imap.max_connections_per_user,
    )


def listen_addresses(settings: Settings) -> dict[str, str]:
    """The listeners' addresses by name (``imap``; ``imaps`` when configured)."""
    imap = settings.imap
    addresses = {"imap": imap.listen_addr}
    if imap.tls_listen_addr:
        addresses["imaps"] = imap.tls_listen_addr
    return addresses


def bind_listeners(settings: Settings) -> Bound | None:
    """Bind every listener (before forking); None, said on stderr, when one cannot be."""
    addresses = {
        name: parse_hostport(address, f"imap.{'tls_' if name == 'imaps' else ''}listen_addr")
        for name, address in listen_addresses(settings).items()
    }
    return bind_all(addresses, "imapd")


async def _listen(
    imap: ImapServer, settings: Settings, policy: ServerPolicy
) -> list[asyncio.Server] | None:
    """Bind and start the listeners (one process); None, said on stderr, when one fails."""
    limit = imap.limits.max_line + 2
    listeners: list[asyncio.Server] = []
    for name, address in listen_addresses(settings).items():
        context, handshake, handler = _options(imap, policy, name)
        host, port = parse_hostport(address, "imap.listen_addr")
        try:
            listeners.append(
                await asyncio.start_server(
                    handler, host, port, limit=limit, ssl=context, ssl_handshake_timeout=handshake
                )
            )
        except OSError as exc:
            print(f"imapd: cannot listen on {address}: {exc.strerror or exc}", file=sys.stderr)
            for listener in listeners:
                listener.close()
            return None
    return listeners


def _options(
    imap: ImapServer, policy: ServerPolicy, name: str
) -> tuple[ssl.SSLContext | None, float | None, Handler]:
    """TLS context, handshake timeout and handler of the listener ``name``."""
    if name == "imaps":
        return policy.tls_context, 30.0, imap.handle_tls
    return None, None, imap.handle


def _accept(
    imap: ImapServer, policy: ServerPolicy, bound: Bound, index: int, processes: int
) -> Acceptor:
    """Accept on the sockets bound before the fork (one of several processes)."""
    acceptor = Acceptor(imap.counts, index, processes, imap.live, imap.limits.max_line + 2)
    for name, sockets in bound.items():
        context, handshake, handler = _options(imap, policy, name)
        for sock in sockets:
            acceptor.start(sock, handler, context, handshake)
    return acceptor


def _announce(settings: Settings, sockets: list[socket.socket], tls: list[socket.socket]) -> None:
    """The ``IMAP server listening on`` line (tests and ``mailrs up`` wait for it)."""
    host = parse_hostport(settings.imap.listen_addr, "imap.listen_addr")[0]
    print(f"IMAP server listening on {_display(host, sockets[0].getsockname()[1])}", flush=True)
    if tls:
        tls_bound = tls[0].getsockname()
        log.info("IMAPS listening on %s", _display(tls_bound[0], tls_bound[1]))


def _limits(settings: Settings) -> Limits:
    imap_cfg = settings.imap
    literal = imap_cfg.max_literal_bytes
    return Limits(
        max_line=imap_cfg.max_line_bytes,
        max_literal=literal,
        max_command=literal + 4 * imap_cfg.max_line_bytes,
        literal_deadline=float(imap_cfg.literal_deadline_secs),
    )


async def serve(
    settings: Settings,
    bound: Bound | None = None,
    counts: SharedCounts | None = None,
    index: int = 0,
    parent: int = 0,
) -> int:
    """Run the server until SIGTERM or SIGINT; returns the process exit status.

    With ``bound`` it is process ``index`` of ``imap.processes``: it accepts on those
    sockets (``imapd.accept``), counts its connections in ``counts``, serves the
    metrics endpoint only as the first, and stops when the process ``parent`` is gone;
    otherwise it binds the listeners itself.
    """
    loop = asyncio.get_running_loop()
    loop.set_default_executor(ThreadPoolExecutor(WORKER_THREADS, thread_name_prefix="imapd"))
    try:
        policy = build_policy(settings)
    except ConfigError as exc:
        print(f"imapd: {exc}", file=sys.stderr)
        return 2
    limits = _limits(settings)
    database = Database.from_settings(settings, pool_size=WORKER_THREADS)  # sized together
    if setup_metrics(settings) and settings.metrics.imapd_addr and index == 0:
        serve_own_endpoint(settings.metrics.imapd_addr)
    backend = Backend(database, MaildirStore(settings.maildir_path), settings)
    # sessions learn of changed files from the kernel instead of listing cur/ each command
    if folder_watch.enable() is None:
        log.warning("no inotify: every command compares the selected folder with the index")
    gauge = process_key(index) if bound is not None else ""
    imap = ImapServer(backend, limits, float(settings.imap.timeout_secs), policy, counts, gauge)
    acceptor = None
    if bound is not None:
        listeners: list[asyncio.Server] | None = []
        acceptor = _accept(imap, policy, bound, index, settings.imap.processes)
    else:
        listeners = await _listen(imap, settings, policy)
    if listeners is None:
        return 1
    stop = asyncio.Event()
    undo_signals = on_stop_signal(loop, stop)
    watcher = asyncio.create_task(watch_parent(parent, stop, "imapd")) if parent else None
    if listeners:
        tls_sockets = list(listeners[1].sockets) if len(listeners) > 1 else []
        _announce(settings, list(listeners[0].sockets), tls_sockets)
    try:
        await stop.wait()
    finally:
        log.info("shutting down")
        for listener in listeners:
            listener.close()
        if acceptor is not None:
            await acceptor.close()
        await imap.close_connections()
        for listener in listeners:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(listener.wait_closed(), SHUTDOWN_GRACE_SECS)
        if watcher is not None:
            watcher.cancel()
        backend.close()
        folder_watch.disable()
        await asyncio.to_thread(database.dispose)
        undo_signals()
    return 0


def _load_before_fork(settings: Settings) -> None:
    """Import what each child would import on its own (the database dialect, the
    throttle's store, the TLS pair), so the children share those pages."""
    build_policy(settings)
    Database.from_settings(settings, pool_size=WORKER_THREADS).dispose()  # the dialect
    gc.freeze()  # the collector leaves the parent's objects, and their pages, alone


def serve_processes(settings: Settings) -> int:
    """``imap.processes`` servers on listeners bound once, in forked children.

    Shared by every process: the connection limits (in all, per IP and per user: one
    ``SharedCounts`` made before the fork), the login throttle (the database or Redis,
    as always), each user's index (SQLite, its writers queued on a ``flock``:
    ``mailrs.store.indexdb.WriterLock``, so UIDs and MODSEQs stay unique and in order)
    and the mailbox events (the file feed or Redis, which is how a session in one
    process hears of a change made in another, as it hears of a delivery). Per process:
    the folder watch (each has its own inotify), the verified-credential cache, the
    cached mailbox states and search-content coverage (each checked against the index
    before use), the event follower. Only the first child serves the metrics endpoint.
    """
    try:
        policy = build_policy(settings)  # a development pair is made once, before the children
    except ConfigError as exc:
        print(f"imapd: {exc}", file=sys.stderr)
        return 2
    bound = bind_listeners(settings)
    if bound is None:
        return 1
    counts = connection_counts(policy)
    _announce(settings, bound["imap"], bound.get("imaps", []))
    _load_before_fork(settings)

    def child(index: int, parent: int) -> int:
        gc.set_threshold(50_000, 50, 100)
        return asyncio.run(serve(settings, bound, counts, index=index, parent=parent))

    return run_children(settings.imap.processes, child, "imapd")


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
        if settings.imap.processes > 1:
            return serve_processes(settings)
        gc.freeze()
        gc.set_threshold(50_000, 50, 100)
        return asyncio.run(serve(settings))
    except KeyboardInterrupt:
        return 0
