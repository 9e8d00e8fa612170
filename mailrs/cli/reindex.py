"""``mailrs reindex USER``: rebuild a user's mailbox index from the Maildir, keeping UIDs."""

from __future__ import annotations

import click

from mailrs.cli.options import config_option, load_or_fail
from mailrs.errors import InvalidAddress, MailboxNotFound
from mailrs.store.mailbox import MailboxService
from mailrs.store.maildir import MaildirStore


@click.command("reindex")
@click.argument("user")
@config_option
def reindex(user: str, config_path: str | None) -> None:
    """Rescan every folder of USER and rebuild the mailbox index (UIDs are kept)."""
    settings = load_or_fail(config_path)
    mailbox = MailboxService(MaildirStore(settings.maildir_path), user)
    try:
        counts = mailbox.rebuild_index()
    except (MailboxNotFound, InvalidAddress):
        raise click.ClickException(f"no Maildir for {user}") from None
    finally:
        mailbox.close()
    for name, count in counts.items():
        click.echo(f"{name}: {count} messages")
    click.echo(f"Reindexed {len(counts)} mailboxes of {user}")
