"""A deadline for reading a request body, so a client trickling bytes cannot hold a worker.

gunicorn bounds the request line and headers (``keepalive`` seconds under the gevent
worker); this WSGI middleware bounds the body: it must arrive within ``BASE_SECS`` plus
one second per ``MIN_RATE`` bytes it declares. Each read waits at most until the
deadline (a ``gevent.Timeout`` under gevent; between reads otherwise), then the request
fails with 408.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.exceptions import RequestTimeout

from web.offload import gevent_active

BASE_SECS = 30.0
MIN_RATE = 64 * 1024  # bytes per second a declared body must at least arrive at


class DeadlineInput:
    """``wsgi.input`` whose reads fail with 408 once the body's deadline has passed."""

    def __init__(self, stream: Any, deadline: float) -> None:
        self._stream = stream
        self._deadline = deadline

    def _call(self, method: Callable[..., bytes], *args: Any) -> Any:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise RequestTimeout("the request body did not arrive in time")
        if not gevent_active():
            return method(*args)
        import gevent

        try:
            with gevent.Timeout(left):
                return method(*args)
        except gevent.Timeout:
            raise RequestTimeout("the request body did not arrive in time") from None

    def read(self, *args: Any) -> bytes:
        """Read like the wrapped stream, within the deadline."""
        return self._call(self._stream.read, *args)

    def readline(self, *args: Any) -> bytes:
        """Read a line within the deadline."""
        return self._call(self._stream.readline, *args)

    def readlines(self, *args: Any) -> list[bytes]:
        """Read lines within the deadline."""
        return self._call(self._stream.readlines, *args)

    def __iter__(self) -> Any:
        return iter(self.readline, b"")


class BodyDeadline:
    """WSGI middleware putting a ``DeadlineInput`` in front of every request body."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        """Wrap ``wsgi.input`` unless this is a WebSocket upgrade (no body to read)."""
        if environ.get("HTTP_UPGRADE", "").lower() != "websocket":
            try:
                declared = max(0, int(environ.get("CONTENT_LENGTH") or 0))
            except ValueError:
                declared = 0
            deadline = time.monotonic() + BASE_SECS + declared / MIN_RATE
            environ["wsgi.input"] = DeadlineInput(environ["wsgi.input"], deadline)
        return self.app(environ, start_response)
