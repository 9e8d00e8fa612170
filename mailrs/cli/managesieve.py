"""``mailrs managesieve``: run the ManageSieve server (RFC 5804) in the foreground."""

from __future__ import annotations

import asyncio
import signal

import click

from mailrs.cli.options import config_option, load_or_fail
from mailrs.config import Settings, parse_hostport
from mailrs.sieve.managesieve import ManageSieveServer
from mailrs.tls import server_context


async def serve(settings: Settings) -> None:
    """Listen until SIGTERM or SIGINT."""
    imap = settings.imap
    tls = server_context(imap.tls_cert_path, imap.tls_key_path) if imap.tls_cert_path else None
    host, port = parse_hostport(settings.sieve.listen_addr, "sieve.listen_addr")
    server = await ManageSieveServer(settings, tls).start(host, port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    click.echo(f"managesieve listening on {host}:{port}" + (" (STARTTLS)" if tls else ""))
    async with server:
        await stop.wait()


@click.command("managesieve")
@config_option
def managesieve(config_path: str | None) -> None:
    """Run the ManageSieve server on sieve.listen_addr (STARTTLS with the IMAP certificate)."""
    settings = load_or_fail(config_path)
    if not settings.sieve.listen_addr:
        raise click.ClickException("sieve.listen_addr is empty: ManageSieve is turned off")
    asyncio.run(serve(settings))
