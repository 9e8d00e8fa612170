"""gunicorn settings of the web app, shared by ``gunicorn.conf.py`` and ``mailrs up``.

``mailrs up`` passes ``--config python:mailrs.cli.gunicorn_conf``; the repository's
``gunicorn.conf.py`` imports these names, so both run the web app the same way.

The gevent worker serves each request and each open chat WebSocket as a greenlet, so
hundreds of open tabs cost memory, not OS threads; gunicorn monkey-patches the worker
before it imports the app (no ``preload_app``: nothing of Flask, SQLAlchemy or the
database drivers is imported in the master). Argon2 runs in gevent's thread pool
(``web.offload``). This module imports nothing but the standard library.
"""

from __future__ import annotations

import gc
import os
from typing import Any

worker_class = "gevent"
# One gevent worker serves hundreds of requests and chat sockets (each a greenlet) and
# costs ~70 MiB; a second one doubled the web app's memory for no need on a small site.
# WEB_CONCURRENCY (gunicorn's own variable) or --workers N raise it.
workers = int(os.environ.get("WEB_CONCURRENCY", "1"))
worker_connections = 2000  # open sockets (chats included) per worker
timeout = 30  # seconds a worker may stay silent before the master restarts it
graceful_timeout = 5  # seconds to finish requests after SIGTERM; chats are cut then
# A request line and headers must arrive within `keepalive` seconds (the gevent worker
# reads them under this timeout), which bounds a slowloris; bodies have their own
# deadline in the app (web.deadline).
keepalive = 5
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190
# mailrs does not use gunicornc; one per-user control socket would be fought over by
# every gunicorn the same user runs (tests, several instances).
control_socket_disable = True


def pre_fork(server: Any, worker: Any) -> None:
    """In the master, before it forks a worker: objects alive now leave the collector's
    reach, so the worker's collections never write to the pages it shares with the master."""
    gc.freeze()
