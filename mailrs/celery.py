"""The Celery app, so that ``celery -A mailrs worker`` works.

Static settings come from ``celeryconfig.py``; the broker comes from the mailrs config:
call ``configure(settings)`` before first use, or, when started by the ``celery`` command,
the config named by MAILRS_CONFIG (or ./mailrs.toml) is loaded when Celery configures.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from celery import Celery
from celery.signals import after_setup_logger, after_setup_task_logger

from mailrs.broker.options import celery_options
from mailrs.config import ConfigError, Settings, load_settings, require_settings
from mailrs.logs import JsonFormatter

app = Celery(
    "mailrs",
    include=[
        "workers.pipeline",
        "workers.validate",
        "workers.spam",
        "workers.route",
        "workers.deliver",
        "workers.relay",
        "workers.bounce",
        "workers.sweeper",
        "workers.tlsrpt",
        "workers.dmarc_reports",
        "workers.stopping",
        "workers.metrics",
    ],
)
app.config_from_object("celeryconfig")


def configure(settings: Settings) -> Celery:
    """Point the app at the broker of these settings (call before the app is used)."""
    previous = getattr(app, "mailrs_settings", None)
    app.mailrs_settings = settings  # type: ignore[attr-defined]
    app.conf.update(celery_options(settings))
    if previous is not None and previous != settings:
        _drop_connection_pools()
    return app


def _drop_connection_pools() -> None:
    """Forget pooled broker connections made for earlier settings (as Celery does on fork)."""
    pool, app._pool = app._pool, None
    amqp = app.__dict__.get("amqp")
    if amqp is not None:
        amqp._producer_pool = None
    if pool is not None:
        pool.force_close_all()


def app_settings() -> Settings:
    """The settings the app was configured with (loaded from the environment if none)."""
    settings = getattr(app, "mailrs_settings", None)
    if settings is None:
        settings = load_settings()
        configure(settings)
    return settings


@app.on_after_configure.connect
def _configure_from_environment(sender: Celery, source: Any, **_: Any) -> None:
    """When the ``celery`` command loads the app, take the broker from MAILRS_CONFIG.

    A missing or bad config ends the process with one line: Celery would otherwise log
    the error and carry on with its own default broker (amqp://guest@localhost).
    """
    if getattr(sender, "mailrs_settings", None) is not None:
        return
    try:
        settings = require_settings(hint="set MAILRS_CONFIG")
    except ConfigError as exc:
        print(f"celery: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(2) from None
    sender.mailrs_settings = settings  # type: ignore[attr-defined]
    source.update(celery_options(settings))


@after_setup_logger.connect
@after_setup_task_logger.connect
def _json_log_lines(logger: logging.Logger, **_: Any) -> None:
    """``[log] format = "json"``: the handlers Celery made write JSON lines."""
    settings = getattr(app, "mailrs_settings", None)
    if settings is None or settings.log.format != "json":
        return
    for handler in logger.handlers:
        handler.setFormatter(JsonFormatter())
