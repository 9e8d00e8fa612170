"""Listener setup and the ``smtpd`` entrypoint."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Callable
from typing import Any

from aiosmtpd.smtp import SMTP

from mailrs.celery import configure
from mailrs.config import Settings, load_settings, parse_hostport
from mailrs.db import Database
from mailrs.errors import ConfigError
from mailrs.spool import Spool
from smtpd import replies
from smtpd.handler import MailHandler

log = logging.getLogger("smtpd")


class TrackedSMTP(SMTP):
    """aiosmtpd's protocol, remembered while connected so shutdown can close it."""

    def __init__(self, handler: MailHandler, registry: set[SMTP], **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self._registry = registry

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Register the session."""
        self._registry.add(self)
        super().connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        """Forget the session."""
        self._registry.discard(self)
        super().connection_lost(exc)


def close_sessions(sessions: set[SMTP]) -> None:
    """Tell every connected client we are going away (421) and close its connection."""
    for protocol in list(sessions):
        transport = protocol.transport
        if transport is None or transport.is_closing():
            continue
        with contextlib.suppress(Exception):
            transport.write((replies.SHUTTING_DOWN + "\r\n").encode())  # type: ignore[attr-defined]
        transport.close()


def make_protocol_factory(
    settings: Settings, handler: MailHandler, sessions: set[SMTP]
) -> Callable[[], SMTP]:
    """A factory of aiosmtpd SMTP protocol objects for the MX listener."""

    def factory() -> SMTP:
        return TrackedSMTP(
            handler,
            sessions,
            hostname=settings.smtp.hostname,
            ident="mailrs ESMTP",
            data_size_limit=settings.smtp.max_message_size,
            enable_SMTPUTF8=True,
            decode_data=False,
            timeout=settings.smtp.timeout_secs,
            auth_require_tls=True,
        )

    return factory


def refuse_unimplemented(settings: Settings) -> None:
    """Fail loudly rather than run without a security feature the config asks for."""
    if settings.smtp.enable_tls:
        raise ConfigError("smtp.enable_tls: STARTTLS is not available in this version yet")


async def serve(settings: Settings) -> int:
    """Listen until SIGTERM/SIGINT; returns the exit code."""
    db = Database.from_settings(settings)
    spool = Spool(settings.spool_path)
    spool.ensure()
    handler = MailHandler(settings, db, spool, configure(settings))
    host, port = parse_hostport(settings.smtp.listen_addr, "smtp.listen_addr")
    loop = asyncio.get_running_loop()
    sessions: set[SMTP] = set()
    try:
        server = await loop.create_server(
            make_protocol_factory(settings, handler, sessions), host, port
        )
    except OSError as exc:
        print(f"smtpd: cannot listen on {host}:{port}: {exc.strerror}", file=sys.stderr)
        return 1
    bound = server.sockets[0].getsockname()
    print(f"SMTP server listening on {bound[0]}:{bound[1]}", flush=True)
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    server.close()
    close_sessions(sessions)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(server.wait_closed(), timeout=10)
    await handler.drain()
    db.dispose()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the SMTP receiver."""
    parser = argparse.ArgumentParser(prog="smtpd", description="mailrs SMTP receiver")
    parser.add_argument(
        "--config", help="path of mailrs.toml (default: $MAILRS_CONFIG or ./mailrs.toml)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        settings = load_settings(args.config)
        refuse_unimplemented(settings)
    except ConfigError as exc:
        print(f"smtpd: {exc}", file=sys.stderr)
        return 2
    return asyncio.run(serve(settings))
