"""``mailrs alias``: add, list and delete aliases (``@domain`` as the source is a catch-all)."""

from __future__ import annotations

import click

from mailrs.accounts.aliases import add_alias, delete_alias, list_aliases
from mailrs.cli.options import config_option, load_or_fail
from mailrs.db.engine import Database
from mailrs.errors import InvalidAddress


def _database(config_path: str | None) -> Database:
    return Database.from_settings(load_or_fail(config_path))


@click.group("alias")
def alias_group() -> None:
    """Aliases: mail for one address delivered to others (local or remote)."""


@alias_group.command("add")
@config_option
@click.argument("source")
@click.argument("destinations", nargs=-1, required=True)
def alias_add(config_path: str | None, source: str, destinations: tuple[str, ...]) -> None:
    """Deliver mail for SOURCE (an address, or @domain for a catch-all) to DESTINATIONS."""
    db = _database(config_path)
    try:
        with db.session() as session:
            rows = [add_alias(session, source, destination) for destination in destinations]
            session.commit()
            for row in rows:
                click.echo(f"{row.source} -> {row.destination}")
    except InvalidAddress as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        db.dispose()


@alias_group.command("list")
@config_option
def alias_list(config_path: str | None) -> None:
    """List every alias, one ``source -> destination`` per line."""
    db = _database(config_path)
    try:
        with db.session() as session:
            for row in list_aliases(session):
                click.echo(f"{row.source} -> {row.destination}")
    finally:
        db.dispose()


@alias_group.command("delete")
@config_option
@click.argument("source")
@click.argument("destination", required=False)
def alias_delete(config_path: str | None, source: str, destination: str | None) -> None:
    """Remove DESTINATION from SOURCE, or the whole alias without DESTINATION."""
    db = _database(config_path)
    try:
        with db.session() as session:
            removed = delete_alias(session, source, destination)
            session.commit()
    except InvalidAddress as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        db.dispose()
    if not removed:
        raise click.ClickException(f"no such alias: {source} {destination or ''}".strip())
    click.echo(f"removed {removed} alias row(s)")
