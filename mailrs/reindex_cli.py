"""``mailrs reindex USER``: rebuild a user's mailbox index from the Maildir, keeping UIDs."""

from __future__ import annotations

import click

from mailrs.config import load_settings
from mailrs.errors import ConfigError, InvalidAddress, MailboxNotFound
from mailrs.maildir import MaildirStore
from mailrs.mailindex import MailIndex


@click.command("reindex")
@click.argument("user")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Path of mailrs.toml (default: $MAILRS_CONFIG or ./mailrs.toml).",
)
def reindex(user: str, config_path: str | None) -> None:
    """Rescan every folder of USER and rebuild the mailbox index (UIDs are kept)."""
    try:
        settings = load_settings(config_path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    store = MaildirStore(settings.maildir_path)
    try:
        folders = store.list_folders(user)
    except (MailboxNotFound, InvalidAddress):
        raise click.ClickException(f"no Maildir for {user}") from None
    index = MailIndex(store, user)
    try:
        counts = index.rebuild(folders)
    finally:
        index.close()
    for name, count in counts.items():
        click.echo(f"{name}: {count} messages")
    click.echo(f"Reindexed {len(counts)} mailboxes of {user}")
