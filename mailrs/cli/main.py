"""The ``mailrs`` command: up, worker, db upgrade, config check, and the groups below."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from mailrs.cli.options import config_option, load_or_fail
from mailrs.config import Settings, check_production_secrets, resolve_config_path
from mailrs.errors import ConfigError


def _require_production_secrets(settings: Settings) -> None:
    try:
        check_production_secrets(settings)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def _migrate(settings: Settings) -> str | None:
    """Apply migrations; a database that cannot be reached is one line, not a traceback."""
    from sqlalchemy.exc import SQLAlchemyError

    from mailrs.db.migrate import current_revision, upgrade

    try:
        upgrade(settings.database_url)
        return current_revision(settings.database_url)
    except SQLAlchemyError as exc:
        origin = getattr(exc, "orig", None) or exc
        reason = (str(origin).strip().splitlines() or [type(exc).__name__])[0]
        raise click.ClickException(f"database: {reason}") from None


@click.group()
@click.version_option(package_name="mailrs")
def cli() -> None:
    """mailrs: SMTP, IMAP, Maildir, a Celery pipeline and a web assistant."""


@cli.group("config")
def config_group() -> None:
    """Inspect the configuration."""


@config_group.command("check")
@config_option
def config_check(config_path: str | None) -> None:
    """Validate a config file (exit 0 if valid, 1 with the reason if not)."""
    path, _ = resolve_config_path(config_path)
    if not path.exists():
        raise click.ClickException(f"config file {path} does not exist")
    settings = load_or_fail(str(path))
    _require_production_secrets(settings)
    click.echo(f"{path}: OK ({settings.mode} mode)")


@cli.group("db")
def db_group() -> None:
    """Database schema."""


@db_group.command("upgrade")
@config_option
def db_upgrade(config_path: str | None) -> None:
    """Apply every pending migration."""
    settings = load_or_fail(config_path)
    click.echo(f"database at revision {_migrate(settings)}")


@cli.command("worker", context_settings={"ignore_unknown_options": True})
@config_option
@click.argument("celery_args", nargs=-1, type=click.UNPROCESSED)
def worker(config_path: str | None, celery_args: tuple[str, ...]) -> None:
    """Run a Celery worker on every pipeline queue (extra args go to Celery)."""
    settings = load_or_fail(config_path)
    if settings.source:
        os.environ["MAILRS_CONFIG"] = str(Path(settings.source).resolve())
    from mailrs.celery import app, configure

    configure(settings)
    argv = [
        "worker",
        "--queues",
        "inbound,deliver,relay,bounce",
        "--pool",
        "solo",
        "--loglevel",
        "INFO",
        "--without-mingle",
        "--without-gossip",
        *celery_args,
    ]
    app.worker_main(argv)


@cli.command("up")
@config_option
def up(config_path: str | None) -> None:
    """Start the whole platform on this machine; Ctrl-C stops it."""
    from mailrs.cli.runstate import state_file
    from mailrs.cli.supervisor import Interrupted, StartupError, Supervisor, plan_services

    path, explicit = resolve_config_path(config_path)
    created = not explicit and not path.exists()
    settings = load_or_fail(config_path, create_dev=True)
    _require_production_secrets(settings)
    path = path.resolve()
    if created:
        click.echo(f"Created a development config at {path}")
    _migrate(settings)
    env = dict(os.environ, MAILRS_CONFIG=str(path), PYTHONUNBUFFERED="1")
    supervisor = Supervisor(
        plan_services(settings, path),
        settings.data_dir / "logs",
        env,
        state_path=state_file(settings.data_dir),
    )
    supervisor.catch_signals()
    try:
        supervisor.check_ports()
        supervisor.start()
    except Interrupted:
        click.echo("mailrs: stopping")
        supervisor.stop()
        sys.exit(0)
    except StartupError as exc:
        supervisor.run.state = "failed"
        supervisor.stop()
        raise click.ClickException(str(exc)) from None
    click.echo(f"Database: {settings.database_url}")
    click.echo(f"Maildir: {settings.maildir_path}")
    click.echo(f"Logs: {settings.data_dir / 'logs'}")
    click.echo("mailrs is up; press Ctrl-C to stop.")
    sys.exit(supervisor.watch())


# Subcommand groups live in their own modules and register after the main group.
from mailrs.cli.alias import alias_group  # noqa: E402
from mailrs.cli.dmarc import dmarc_group  # noqa: E402
from mailrs.cli.managesieve import managesieve  # noqa: E402
from mailrs.cli.queue import queue_group  # noqa: E402
from mailrs.cli.reindex import reindex  # noqa: E402
from mailrs.cli.status import status  # noqa: E402
from mailrs.cli.tls import tls_group  # noqa: E402

cli.add_command(alias_group)
cli.add_command(queue_group)
cli.add_command(tls_group)
cli.add_command(reindex)
cli.add_command(status)
cli.add_command(managesieve)
cli.add_command(dmarc_group)


def main() -> int:
    """Entry point of the ``mailrs`` console script."""
    try:
        cli.main(prog_name="mailrs", standalone_mode=True)
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else 1
    return 0
