"""What every ``mailrs`` subcommand shares: the ``--config`` option and loading the settings."""

from __future__ import annotations

import click

from mailrs.config import Settings, load_settings, require_settings
from mailrs.errors import ConfigError

CONFIG_META = "mailrs.config"  # click context meta: the config file a command loaded

config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Path of mailrs.toml (default: $MAILRS_CONFIG or ./mailrs.toml).",
)


def load_or_fail(config_path: str | None, create_dev: bool = False) -> Settings:
    """The settings, or a one-line click error naming the file and the bad key.

    Only ``create_dev`` (``mailrs up``) runs without a config file, writing a development
    one; every other command stops with one line saying where it looked.
    """
    try:
        if create_dev:
            settings = load_settings(config_path, create_dev=True)
        else:
            settings = require_settings(config_path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    context = click.get_current_context(silent=True)
    if context is not None:
        context.meta[CONFIG_META] = settings.source
    return settings


def database_error(exc: Exception, config: str) -> str:
    """One line for a database failure: its first line, and which config named the database."""
    origin = getattr(exc, "orig", None) or exc
    reason = (str(origin).strip().splitlines() or [type(exc).__name__])[0]
    where = f" (database of {config})" if config else ""
    return f"database: {reason}{where}"
