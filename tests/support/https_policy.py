"""A real HTTPS server on loopback for MTA-STS tests: serves whatever ``pages`` holds.

``pages`` maps a path to (status, content type, body); the certificate is the caller's
(issued by ``support.test_ca.TestCA`` for ``mta-sts.<domain>``). ``requests`` counts the
GETs per path, so a test can see whether a policy was fetched or came from the cache.
"""

from __future__ import annotations

import ssl
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType

from mailrs.tls import server_context


class PolicyServer:
    """An HTTPS server in a thread, for ``with`` blocks."""

    def __init__(self, pair: tuple[Path, Path]) -> None:
        self.pages: dict[str, tuple[int, str, bytes]] = {}
        self.requests: Counter[str] = Counter()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the http.server hook's name)
                owner.requests[self.path] += 1
                status, kind, body = owner.pages.get(self.path, (404, "text/plain", b"none\n"))
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context: ssl.SSLContext = server_context(*pair)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def policy(self, text: str, kind: str = "text/plain", status: int = 200) -> None:
        """Serve ``text`` as the MTA-STS policy file."""
        self.pages["/.well-known/mta-sts.txt"] = (status, kind, text.encode())

    def __enter__(self) -> PolicyServer:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(timeout=5)
