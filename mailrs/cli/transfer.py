"""``mailrs import mbox|maildir|imap`` and ``mailrs export``: mail in from elsewhere, and out."""

from __future__ import annotations

import imaplib
import ssl
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import click

from mailrs.accounts.users import find_user
from mailrs.cli.options import config_option, load_or_fail
from mailrs.config import Settings
from mailrs.db.engine import Database
from mailrs.errors import InvalidMailboxName, MailboxNotFound
from mailrs.store.imap_import import ImapImportError, import_imap
from mailrs.store.mailbox import MailboxService
from mailrs.store.maildir import MaildirStore
from mailrs.store.transfer import export_maildir, export_mbox, import_maildir, import_mbox
from mailrs.tls import client_context

SECURITY = ("ssl", "starttls", "none")


@contextmanager
def _mailbox(settings: Settings, user: str) -> Iterator[tuple[MailboxService, Database]]:
    """The user's mailbox service (the account must exist) and the database."""
    db = Database.from_settings(settings)
    try:
        with db.session() as session:
            account = find_user(session, user)
            if account is None:
                raise click.ClickException(f"no user {user}")
            address = account.address
        service = MailboxService(MaildirStore(settings.maildir_path), address, settings, "import")
        try:
            service.ensure_user()
            yield service, db
        except (InvalidMailboxName, MailboxNotFound, FileNotFoundError, OSError) as exc:
            raise click.ClickException(str(exc)) from None
        finally:
            service.close()
    finally:
        db.dispose()


@click.group("import")
def import_group() -> None:
    """Bring existing mail into a user's mailboxes (through the mailbox service)."""


@import_group.command("mbox")
@config_option
@click.argument("user")
@click.argument("path", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--folder", default="INBOX", show_default=True, help="Mailbox to import into.")
def import_mbox_command(config_path: str | None, user: str, path: Path, folder: str) -> None:
    """Append every message of the mbox file PATH to USER's FOLDER."""
    settings = load_or_fail(config_path)
    with _mailbox(settings, user) as (service, _):
        count = import_mbox(service, path, folder)
    click.echo(f"imported {count} messages into {folder} of {user}")


@import_group.command("maildir")
@config_option
@click.argument("user")
@click.argument("path", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--folder", default="", help="Put the Maildir's INBOX here, its folders below.")
def import_maildir_command(config_path: str | None, user: str, path: Path, folder: str) -> None:
    """Append every message of the Maildir(++) PATH, folders included, to USER."""
    settings = load_or_fail(config_path)
    with _mailbox(settings, user) as (service, _):
        counts = import_maildir(service, path, folder)
    for name, count in counts.items():
        click.echo(f"{name}: {count} messages")
    click.echo(f"imported {sum(counts.values())} messages for {user}")


def _connect(host: str, port: int, security: str, timeout: float) -> imaplib.IMAP4:
    if security == "ssl":
        return imaplib.IMAP4_SSL(host, port, ssl_context=client_context(), timeout=timeout)
    client = imaplib.IMAP4(host, port, timeout=timeout)
    if security == "starttls":
        client.starttls(ssl_context=client_context())
    return client


@import_group.command("imap")
@config_option
@click.option("--host", required=True, help="The source IMAP server.")
@click.option("--port", type=int, default=993, show_default=True)
@click.option("--user", "login", required=True, help="Login on the source server.")
@click.option(
    "--password-file",
    required=True,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="A file whose first line is the source password.",
)
@click.option("--security", type=click.Choice(SECURITY), default="ssl", show_default=True)
@click.option("--timeout", type=float, default=60.0, show_default=True)
@click.argument("user")
def import_imap_command(
    config_path: str | None,
    host: str,
    port: int,
    login: str,
    password_file: Path,
    security: str,
    timeout: float,
    user: str,
) -> None:
    """Copy every folder of LOGIN on another IMAP server into USER (re-runs copy only new mail)."""
    settings = load_or_fail(config_path)
    password = password_file.read_text(encoding="utf-8").splitlines()[0:1]
    if not password:
        raise click.ClickException(f"{password_file} is empty")
    source = f"imap://{login}@{host}:{port}"
    try:
        client = _connect(host, port, security, timeout)
    except (OSError, ssl.SSLError, imaplib.IMAP4.error) as exc:
        raise click.ClickException(f"cannot connect to {host}:{port}: {exc}") from None
    try:
        client.login(login, password[0])
        with _mailbox(settings, user) as (service, db), db.session() as session:
            report = import_imap(client, service, session, source, click.echo)
    except imaplib.IMAP4.error as exc:
        raise click.ClickException(f"{host}:{port}: {exc}") from None
    except (TimeoutError, ImapImportError) as exc:
        raise click.ClickException(f"{host}:{port}: {exc}") from None
    finally:
        with suppress(OSError, imaplib.IMAP4.error):
            client.logout()
    copied, skipped = sum(report.copied.values()), sum(report.skipped.values())
    click.echo(f"imported {copied} messages for {user} ({skipped} were here already)")


@click.command("export")
@config_option
@click.argument("user")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["maildir", "mbox"]), default="maildir")
def export(config_path: str | None, user: str, folder: Path, fmt: str) -> None:
    """Write every mailbox of USER to FOLDER: one Maildir++ tree, or one mbox per mailbox."""
    settings = load_or_fail(config_path)
    if folder.exists() and any(folder.iterdir()):
        raise click.ClickException(f"{folder} exists and is not empty")
    with _mailbox(settings, user) as (service, _):
        counts = (export_mbox if fmt == "mbox" else export_maildir)(service, folder)
    for name, count in counts.items():
        click.echo(f"{name}: {count} messages")
    click.echo(f"exported {sum(counts.values())} messages of {user} to {folder} ({fmt})")
