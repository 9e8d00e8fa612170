"""The ``imapd`` process: load settings, listen, serve connections, stop on SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys

from imapd.backend import Backend
from imapd.connection import Connection
from imapd.framing import Limits
from mailrs.config import Settings, load_settings, parse_hostport
from mailrs.db import Database
from mailrs.errors import ConfigError
from mailrs.maildir import MaildirStore

log = logging.getLogger("imapd")
SHUTDOWN_GRACE_SECS = 5.0
LOG_FORMAT = "%(asctime)s %(name)s %(levelname)s %(message)s"


class ImapServer:
    """Accepts clients and keeps track of their connections for a clean shutdown."""

    def __init__(self, backend: Backend, limits: Limits, timeout: float) -> None:
        self.backend = backend
        self.limits = limits
        self.timeout = timeout
        self._tasks: set[asyncio.Task[None]] = set()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve one client (the callback of ``asyncio.start_server``)."""
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await Connection(reader, writer, self.backend, self.limits, self.timeout).run()
        except asyncio.CancelledError:
            pass  # shutdown: the connection has said BYE and closed
        finally:
            if task is not None:
                self._tasks.discard(task)

    async def close_connections(self) -> None:
        """Say BYE to every client and wait (briefly) for the connections to end."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=SHUTDOWN_GRACE_SECS)


def _display(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


async def serve(settings: Settings) -> int:
    """Run the server until SIGTERM or SIGINT; returns the process exit status."""
    host, port = parse_hostport(settings.imap.listen_addr, "imap.listen_addr")
    limits = Limits()
    database = Database.from_settings(settings)
    backend = Backend(database, MaildirStore(settings.maildir_path))
    imap = ImapServer(backend, limits, float(settings.imap.timeout_secs))
    try:
        listener = await asyncio.start_server(imap.handle, host, port, limit=limits.max_line)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        print(f"imapd: cannot listen on {settings.imap.listen_addr}: {reason}", file=sys.stderr)
        return 1
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    bound_port = listener.sockets[0].getsockname()[1]
    print(f"IMAP server listening on {_display(host, bound_port)}", flush=True)
    try:
        await stop.wait()
    finally:
        log.info("shutting down")
        listener.close()
        await imap.close_connections()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(listener.wait_closed(), SHUTDOWN_GRACE_SECS)
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
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format=LOG_FORMAT)
    try:
        return asyncio.run(serve(settings))
    except KeyboardInterrupt:
        return 0
