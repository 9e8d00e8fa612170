"""gunicorn settings for the mailrs web app, so a bare ``gunicorn 'web:create_app()'`` is right.

gunicorn reads ``./gunicorn.conf.py`` by itself when started from the repository root.
This file binds ``[api] listen_addr`` of the mailrs settings (``$MAILRS_CONFIG``, else
``./mailrs.toml``, else the default ``127.0.0.1:8080``) instead of gunicorn's own
``127.0.0.1:8000``, and with ``[log] format = "json"`` makes gunicorn's own logs JSON
lines; every other setting (the gevent worker, timeouts, limits) comes from
``mailrs.cli.gunicorn_conf``, which ``mailrs up`` uses too.
Command-line options (``--bind``, ``--workers``, ...) still win over these values.
"""

from __future__ import annotations

import sys
from typing import Any

from mailrs.cli.gunicorn_conf import *  # noqa: F403 - the shared settings
from mailrs.config import Settings, load_settings
from mailrs.errors import ConfigError


def _settings() -> Settings:
    """The mailrs settings; a bad config ends gunicorn with one line and status 2."""
    try:
        return load_settings()
    except ConfigError as exc:
        print(f"gunicorn: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def _json_logging() -> dict[str, Any]:
    """gunicorn's error and access logs as JSON lines (``[log] format = "json"``)."""
    stream = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "mailrs.logs.JsonFormatter"}},
        "handlers": {"console": stream, "error_console": stream},
        "root": {"level": "INFO", "handlers": ["console"]},
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": ["error_console"], "propagate": False},
            "gunicorn.access": {"level": "INFO", "handlers": ["console"], "propagate": False},
        },
    }


_SETTINGS = _settings()
bind = [_SETTINGS.api.listen_addr]
if _SETTINGS.log.format == "json":
    logconfig_dict = _json_logging()
