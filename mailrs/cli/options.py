"""What every ``mailrs`` subcommand shares: the ``--config`` option and loading the settings."""

from __future__ import annotations

import click

from mailrs.config import Settings, load_settings
from mailrs.errors import ConfigError

config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Path of mailrs.toml (default: $MAILRS_CONFIG or ./mailrs.toml).",
)


def load_or_fail(config_path: str | None, create_dev: bool = False) -> Settings:
    """The settings, or a one-line click error naming the bad key."""
    try:
        return load_settings(config_path, create_dev=create_dev)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
