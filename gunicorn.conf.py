"""gunicorn settings for the mailrs web app, so a bare ``gunicorn 'web:create_app()'`` is right.

gunicorn reads ``./gunicorn.conf.py`` by itself when started from the repository root.
This file binds ``[api] listen_addr`` of the mailrs settings (``$MAILRS_CONFIG``, else
``./mailrs.toml``, else the default ``127.0.0.1:8080``) instead of gunicorn's own
``127.0.0.1:8000``; every other setting (the gevent worker, timeouts, limits) comes from
``mailrs.cli.gunicorn_conf``, which ``mailrs up`` uses too.
Command-line options (``--bind``, ``--workers``, ...) still win over these values.
"""

from __future__ import annotations

import sys

from mailrs.cli.gunicorn_conf import *  # noqa: F403 - the shared settings
from mailrs.config import load_settings
from mailrs.errors import ConfigError


def _api_listen_addr() -> str:
    """``[api] listen_addr``; a bad config ends gunicorn with one line and status 2."""
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"gunicorn: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    return settings.api.listen_addr


bind = [_api_listen_addr()]
