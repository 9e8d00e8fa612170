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
import gc
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
from mailrs.prefork import Bound, bind_all, run_children, watch_parent
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


LABELS = {"mx": "SMTP server", "submission": "Submission", "submissions": "Submissions (TLS)"}


def bind_listeners(settings: Settings) -> Bound | None:
    """Bind every listener (before forking); None, said on stderr, when one cannot be."""
    addresses = {
        listener.name: parse_hostport(address, f"smtp.{listener.name}_addr")
        for listener, address in listeners(settings)
    }
    bound = bind_all(addresses, "smtpd")
    for name, sockets in (bound or {}).items():
        host, port = sockets[0].getsockname()[:2]
        print(f"{LABELS[name]} listening on {host}:{port}", flush=True)
    return bound


async def serve(
    settings: Settings, bound: Bound | None = None, primary: bool = True, parent: int = 0
) -> int:
    """Listen until SIGTERM/SIGINT; returns the exit code.

    With ``bound`` it serves those sockets (one of several processes: the start-up sweep
    and the metrics endpoint only when ``primary``; it also stops when the process
    ``parent`` is gone); otherwise it binds the listeners itself.
    """
    try:
        context = tls_context(settings)
    except (ConfigError, OSError) as exc:
        print(f"smtpd: {exc}", file=sys.stderr)
        return 2
    if context is None and settings.smtp.submission_addr and not settings.smtp.allow_insecure_auth:
        log.warning("submission listener without TLS: AUTH is not offered there")
    if setup_metrics(settings) and settings.metrics.smtpd_addr and primary:
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
    for listener, address in listeners(settings):
        host, port = parse_hostport(address, f"smtp.{listener.name}_addr")
        factory = make_protocol_factory(settings, handler, listener, context, connections, sessions)
        ssl_context = context if listener.implicit_tls else None
        if bound is not None:
            for sock in bound[listener.name]:
                servers.append(await loop.create_server(factory, sock=sock, ssl=ssl_context))
            continue
        try:
            server = await loop.create_server(factory, host, port, ssl=ssl_context)
        except OSError as exc:
            print(f"smtpd: cannot listen on {host}:{port}: {exc.strerror}", file=sys.stderr)
            for started in servers:
                started.close()
            db.dispose()
            return 1
        servers.append(server)
        name = server.sockets[0].getsockname()
        print(f"{LABELS[listener.name]} listening on {name[0]}:{name[1]}", flush=True)
    stop = asyncio.Event()
    tasks = [asyncio.create_task(startup_sweep(handler, settings, stop))] if primary else []
    if parent:
        tasks.append(asyncio.create_task(watch_parent(parent, stop, "smtpd")))
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
    for task in tasks:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, timeout=5)
    await handler.drain()
    db.dispose()
    return 0


def _load_before_fork(settings: Settings) -> None:
    """Import what each child would import on its own (the broker transport, the database
    dialect, ...), so the children share those pages instead of each loading them."""
    configure(settings)
    Database.from_settings(settings).dispose()  # no connection yet: the dialect's modules
    gc.freeze()  # the collector leaves the parent's objects, and their pages, alone


def serve_processes(settings: Settings) -> int:
    """``smtp.processes`` receivers on listeners bound once, in forked children.

    What is per process: the group commit and the publishing batches, the connection
    limits (``max_connections`` and ``max_connections_per_ip`` hold in each process, so
    up to N times as many in all: each limit protects one process's own sockets and
    memory, and the kernel spreads one IP's connections over the processes), the
    in-memory message rates of the embedded default (with Redis, as a scaled-out site
    has, they are shared), the recent RCPT answers (``smtpd.recipient_cache``). The
    backlog is counted in the database, so it is shared. Only the first child runs the
    start-up sweep and the metrics endpoint.
    """
    try:
        tls_context(settings)  # a development pair is made once, before the children
    except (ConfigError, OSError) as exc:
        print(f"smtpd: {exc}", file=sys.stderr)
        return 2
    bound = bind_listeners(settings)
    if bound is None:
        return 1
    _load_before_fork(settings)

    def child(index: int, parent: int) -> int:
        return asyncio.run(serve(settings, bound, primary=index == 0, parent=parent))

    return run_children(settings.smtp.processes, child, "smtpd")


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
    if settings.smtp.processes > 1:
        return serve_processes(settings)
    return asyncio.run(serve(settings))
