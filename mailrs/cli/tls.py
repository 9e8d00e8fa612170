"""``mailrs tls``: development certificates."""

from __future__ import annotations

import click

from mailrs.tls import write_selfsigned


@click.group("tls")
def tls_group() -> None:
    """TLS certificates."""


@tls_group.command("selfsigned")
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--hostname", default="localhost", show_default=True, help="Name in the certificate.")
def tls_selfsigned(directory: str, hostname: str) -> None:
    """Write a self-signed cert.pem and key.pem into DIRECTORY (development only)."""
    try:
        cert, key = write_selfsigned(directory, hostname)
    except OSError as exc:
        raise click.ClickException(f"cannot write into {directory}: {exc.strerror}") from None
    click.echo(f"Wrote {cert} and {key} (self-signed for {hostname}; not for production)")
