"""Listener setup and the ``smtpd`` entrypoint: MX, submission (STARTTLS), submissions (TLS).

Every listener shares one handler (policy) and one connection limiter. At start-up,
after the listeners are bound, one sweep re-publishes messages whose pipeline never
reached the broker (``mailrs.queue.sweep.sweep_once``, the same function the workers use).
SIGTERM/SIGINT stop it gracefully (``smtpd.shutdown``): messages in DATA are committed
and answered 250, every other session gets 421.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import ssl
import sys
import warnings
from collections.abc import Callable

from aiosmtpd.smtp import SMTP

from mailrs.celery import configure
from mailrs.config import Settings, load_settings, parse_hostport
from mailrs.db.engine import Database
from mailrs.errors import ConfigError
from mailrs.logs import setup_logging
from mailrs.metrics.exposition import serve_own_endpoint
from mailrs.metrics.process import setup as setup_metrics
from mailrs.queue.spool import Spool
from mailrs.tls import ensure_dev_pair, server_context
from smtpd.connections import ConnectionLimiter
from smtpd.handler import MailHandler
from smtpd.protocol import Listener, MailSMTP
from smtpd.shutdown import Sessions

log = logging.getLogger("smtpd")


def ensure_dev_certificate(settings: Settings) -> None:
    """In development mode, create the configured TLS pair (self-signed) if neither exists."""
    if not settings.is_development:
        return
    cert, key = settings.smtp.tls_cert_path, settings.smtp.tls_key_path
    if ensure_dev_pair(cert, key, settings.smtp.hostname):
        print(f"smtpd: created a self-signed development certificate {cert}", flush=True)


def tls_context(settings: Settings) -> ssl.SSLContext | None:
    """The server TLS context from the configured pair, or None when TLS is off."""
    if not settings.smtp.enable_tls:
        return None
    ensure_dev_certificate(settings)
    return server_context(settings.smtp.tls_cert_path, settings.smtp.tls_key_path)


def listeners(settings: Settings) -> list[tuple[Listener, str]]:
    """The configured listeners and their addresses."""
    smtp = settings.smtp
    tls = smtp.enable_tls and not smtp.allow_insecure_auth
    found = [(Listener("mx", require_auth=smtp.require_auth), smtp.listen_addr)]
    if smtp.submission_addr:
        submission = Listener("submission", require_auth=True, require_starttls=tls)
        found.append((submission, smtp.submission_addr))
    if smtp.submissions_addr:
        found.append(
            (Listener("submissions", implicit_tls=True, require_auth=True), smtp.submissions_addr)
        )
    return found


def make_protocol_factory(
    settings: Settings,
    handler: MailHandler,
    listener: Listener,
    context: ssl.SSLContext | None,
    connections: ConnectionLimiter,
    sessions: Sessions,
) -> Callable[[], SMTP]:
    """A factory of SMTP protocol objects for one listener (clones of one, see
    ``MailSMTP.clone``; call it inside the running event loop)."""
    smtp = settings.smtp
    prototype = MailSMTP(
        handler,
        listener=listener,
        connections=connections,
        registry=sessions,
        data_timeout=smtp.data_timeout_secs,
        data_deadline=smtp.data_deadline_secs,
        enable_auth=smtp.enable_auth,
        hostname=smtp.hostname,
        ident="mailrs ESMTP",
        data_size_limit=smtp.max_message_size,
        enable_SMTPUTF8=True,
        decode_data=False,
        timeout=smtp.timeout_secs,
        tls_context=None if listener.implicit_tls else context,
        require_starttls=listener.require_starttls,
        auth_required=listener.require_auth,
        auth_require_tls=not (listener.implicit_tls or smtp.allow_insecure_auth),
    )
    return prototype.clone


async def startup_sweep(handler: MailHandler, settings: Settings, stop: asyncio.Event) -> None:
    """Re-publish what a dead receiver or a down broker left (in a thread), twice.

    The first pass takes what the broker refused (marked due) and anything received
    more than ``HANDOFF_SECS`` ago; the second, ``HANDOFF_SECS`` later, takes the messages
    a receiver that died just before this start had committed but not published (a sweep
    never takes a younger unpublished message: a live receiver may be publishing it).
    """
    from mailrs.queue.sweep import HANDOFF_SECS, sweep_once

    for attempt in range(2):
        if attempt:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), HANDOFF_SECS)
                return  # stopping
        try:
            sent = await asyncio.to_thread(
                sweep_once, handler.celery_app, handler.db, settings.celery.sweep_grace_secs
            )
        except Exception as exc:  # the workers' sweeper will try again
            log.warning("startup sweep failed: %s: %s", type(exc).__name__, exc)
            return
        if not attempt:
            log.info("startup sweep: re-published %d message(s)", sent)
        elif sent:
            log.info("startup sweep, second pass: re-published %d message(s)", sent)


async def serve(settings: Settings) -> int:
    """Listen until SIGTERM/SIGINT; returns the exit code."""
    try:
        context = tls_context(settings)
    except (ConfigError, OSError) as exc:
        print(f"smtpd: {exc}", file=sys.stderr)
        return 2
    if context is None and settings.smtp.submission_addr and not settings.smtp.allow_insecure_auth:
        log.warning("submission listener without TLS: AUTH is not offered there")
    if setup_metrics(settings) and settings.metrics.smtpd_addr:
        serve_own_endpoint(settings.metrics.smtpd_addr)
    db = Database.from_settings(settings)
    spool = Spool(settings.spool_path)
    spool.ensure()
    handler = MailHandler(settings, db, spool, configure(settings))
    loop = asyncio.get_running_loop()
    sessions = Sessions()
    connections = ConnectionLimiter(
        settings.smtp.max_connections, settings.smtp.max_connections_per_ip
    )
    servers: list[asyncio.Server] = []
    labels = {"mx": "SMTP server", "submission": "Submission", "submissions": "Submissions (TLS)"}
    for listener, address in listeners(settings):
        host, port = parse_hostport(address, f"smtp.{listener.name}_addr")
        factory = make_protocol_factory(settings, handler, listener, context, connections, sessions)
        try:
            server = await loop.create_server(
                factory, host, port, ssl=context if listener.implicit_tls else None
            )
        except OSError as exc:
            print(f"smtpd: cannot listen on {host}:{port}: {exc.strerror}", file=sys.stderr)
            for started in servers:
                started.close()
            db.dispose()
            return 1
        servers.append(server)
        bound = server.sockets[0].getsockname()
        print(f"{labels[listener.name]} listening on {bound[0]}:{bound[1]}", flush=True)
    stop = asyncio.Event()
    sweep = asyncio.create_task(startup_sweep(handler, settings, stop))
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    for server in servers:
        server.close()
    open_sessions = len(sessions)
    cut = await sessions.drain()
    log.info("stopping: %d session(s) closed, %d cut off in DATA", open_sessions, cut)
    for server in servers:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(server.wait_closed(), timeout=10)
    with contextlib.suppress(Exception):
        await asyncio.wait_for(sweep, timeout=5)
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
    # aiosmtpd's per-command chatter and its warnings about options we set on purpose
    # (AUTH required without STARTTLS on the implicit-TLS port; its deprecated login_data).
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        print(f"smtpd: {exc}", file=sys.stderr)
        return 2
    setup_logging(settings)
    return asyncio.run(serve(settings))
