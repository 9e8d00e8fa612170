"""gunicorn settings for the mailrs web app, so a bare ``gunicorn 'web:create_app()'`` is right.

gunicorn reads ``./gunicorn.conf.py`` by itself when started from the repository root.
This file binds ``[api] listen_addr`` of the mailrs settings (``$MAILRS_CONFIG``, else
``./mailrs.toml``, else the default ``127.0.0.1:8080``) instead of gunicorn's own
``127.0.0.1:8000``, and runs threaded workers, which the WebSocket chat needs.
Command-line options (``--bind``, ``--workers``, ...) still win over these values.
"""

from __future__ import annotations

import sys

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
worker_class = "gthread"
workers = 2
# Every open chat (/ws/chat) holds one thread for as long as the page is open, so each
# worker needs many: 2 x 32 serves 64 connections at once, chats included.
threads = 32
timeout = 30  # seconds a worker may stay silent before the master restarts it
graceful_timeout = 10  # seconds to finish requests after SIGTERM
keepalive = 5
# mailrs does not use gunicornc; one per-user control socket would be fought over by
# every gunicorn the same user runs (tests, several instances).
control_socket_disable = True
