"""The ``mailrs`` command: up, worker, db upgrade, config check, status, alias, queue, tls, reindex.

Subcommands import what they use when they run: ``mailrs up`` stays a small process
(it only starts and watches the services), so nothing here imports SQLAlchemy, Celery
or the account code at module level.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import click

from mailrs.cli.celery_worker import run_celery_worker
from mailrs.cli.options import CONFIG_META, config_option, database_error, load_or_fail
from mailrs.config import Settings, check_production_secrets, resolve_config_path
from mailrs.errors import ConfigError
from mailrs.tls_check import check_tls_files

MAX_WORKER_PROCESSES = 4


def _require_production_secrets(settings: Settings) -> None:
    try:
        check_production_secrets(settings)
    except ConfigError as exc:
        where = f"{settings.source}: " if settings.source else ""
        raise click.ClickException(f"{where}{exc}") from None


class MailrsGroup(click.Group):
    """The ``mailrs`` group: a database failure in any command is one line naming the config."""

    def invoke(self, ctx: click.Context) -> object:
        """Run the command; SQLAlchemy errors become a ClickException."""
        try:
            return super().invoke(ctx)
        except Exception as exc:
            if not _is_database_error(exc):
                raise
            raise click.ClickException(database_error(exc, ctx.meta.get(CONFIG_META, ""))) from None


def _is_database_error(exc: Exception) -> bool:
    """True for a SQLAlchemy error; SQLAlchemy itself is not imported to ask (a command
    that never loaded it, like ``mailrs up``'s supervisor, cannot have raised one)."""
    errors = sys.modules.get("sqlalchemy.exc")
    return errors is not None and isinstance(exc, errors.SQLAlchemyError)


def _migrate(settings: Settings) -> str | None:
    """Apply migrations; a database that cannot be reached is one line, not a traceback."""
    from sqlalchemy.exc import SQLAlchemyError

    from mailrs.db.migrate import current_revision, upgrade

    try:
        upgrade(settings.database_url)
        return current_revision(settings.database_url)
    except SQLAlchemyError as exc:
        raise click.ClickException(database_error(exc, settings.source)) from None


class LazyGroup(MailrsGroup):
    """A command group whose further subcommands are imported only when one is used."""

    lazy: dict[str, str] = {
        "alias": "mailrs.cli.alias:alias_group",
        "queue": "mailrs.cli.queue:queue_group",
        "tls": "mailrs.cli.tls:tls_group",
        "reindex": "mailrs.cli.reindex:reindex",
        "status": "mailrs.cli.status:status",
        "backup": "mailrs.cli.backup:backup",
        "restore": "mailrs.cli.backup:restore",
        "domain": "mailrs.cli.domain:domain_group",
        "import": "mailrs.cli.transfer:import_group",
        "export": "mailrs.cli.transfer:export",
        "managesieve": "mailrs.cli.managesieve:managesieve",
        "dmarc": "mailrs.cli.dmarc:dmarc_group",
        "pipeline": "mailrs.cli.audit:pipeline",
        "logins": "mailrs.cli.audit:logins",
        "tlsrpt": "mailrs.cli.tlsrpt:tlsrpt_group",
        "spam": "mailrs.cli.spam:spam_group",
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Eager and lazy subcommands, sorted."""
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The subcommand, importing its module on first use."""
        if cmd_name in self.lazy and cmd_name not in self.commands:
            module, _, attr = self.lazy[cmd_name].partition(":")
            self.add_command(getattr(importlib.import_module(module), attr), cmd_name)
        return super().get_command(ctx, cmd_name)


def _migrate_in_child(config_path: Path) -> None:
    """``mailrs db upgrade`` in a child process, so ``up`` never loads SQLAlchemy itself."""
    done = subprocess.run(
        [sys.executable, "-m", "mailrs", "db", "upgrade", "--config", str(config_path)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines() or ["db upgrade failed"]
        raise click.ClickException(lines[-1].removeprefix("Error: "))


@click.group(cls=LazyGroup)
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
    try:
        checked = check_tls_files(settings)
    except ConfigError as exc:
        raise click.ClickException(f"{path}: {exc}") from None
    for line in checked:
        click.echo(f"{line}: loads")
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


def worker_concurrency() -> int:
    """Worker processes per ``mailrs worker``: one per core, at most MAX_WORKER_PROCESSES.

    One process runs Python on one core; a pool lets a machine's cores drain the queue
    together (each child is a fork of the parent, so it shares most of its memory).
    """
    return max(1, min(os.cpu_count() or 1, MAX_WORKER_PROCESSES))


@cli.command("worker", context_settings={"ignore_unknown_options": True})
@config_option
@click.argument("celery_args", nargs=-1, type=click.UNPROCESSED)
def worker(config_path: str | None, celery_args: tuple[str, ...]) -> None:
    """Run a Celery worker on every pipeline queue (extra args go to Celery).

    A prefork pool of one process per core (at most four); ``--pool solo`` or
    ``--concurrency N`` after the options override that.
    """
    settings = load_or_fail(config_path)
    if settings.source:
        os.environ["MAILRS_CONFIG"] = str(Path(settings.source).resolve())
    from mailrs.celery import app, configure

    configure(settings)
    argv = [
        "--queues",
        "inbound,deliver,relay,bounce",
        "--pool",
        "prefork",
        "--concurrency",
        str(worker_concurrency()),
        "--loglevel",
        "INFO",
        "--without-mingle",
        "--without-gossip",
        *celery_args,
    ]
    code = run_celery_worker(app, argv)
    if code:
        sys.exit(code)


@cli.command("up")
@config_option
def up(config_path: str | None) -> None:
    """Start the whole platform on this machine; Ctrl-C stops it."""
    from mailrs.cli.plan import write_plan
    from mailrs.cli.supervise import exec_supervisor

    path, explicit = resolve_config_path(config_path)
    created = not explicit and not path.exists()
    settings = load_or_fail(config_path, create_dev=True)
    _require_production_secrets(settings)
    path = path.resolve()
    if created:
        click.echo(f"Created a development config at {path}")
    _migrate_in_child(path)
    plan = write_plan(settings, path)
    # The services inherit this environment; the supervisor that watches them for days
    # is a fresh interpreter (same pid) that loads neither click nor the config code.
    os.environ.update(MAILRS_CONFIG=str(path), PYTHONUNBUFFERED="1")
    exec_supervisor(plan)


def main() -> int:
    """Entry point of the ``mailrs`` console script."""
    try:
        cli.main(prog_name="mailrs", standalone_mode=True)
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else 1
    return 0
