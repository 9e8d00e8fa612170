"""WebSocket frame sizes checked from the frame header, before any payload is read.

simple-websocket's ``max_message_size`` counts payload bytes as they arrive, so a frame
whose header declares 2^62 bytes and then sends nothing would keep its socket forever.
``FrameSizeGuard`` follows the raw byte stream frame by frame (RFC 6455 section 5.2) and
refuses a header that declares more than the limit: the connection is closed at once
with 1009 (message too big). It is wired in through simple-websocket's ``thread_class``
option, which runs before the first client frame is read.
"""

from __future__ import annotations

import struct
import threading
from collections.abc import Callable
from typing import Any

CLOSE_TOO_BIG = struct.pack("!BBH", 0x88, 2, 1009)  # FIN + close, 2-byte body, code 1009


class FrameTooBig(OSError):
    """A client frame declared a payload larger than allowed."""


class FrameSizeGuard:
    """Parses frame headers out of the client's byte stream and checks declared lengths."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._header = b""
        self._skip = 0  # payload bytes of the current frame still to pass

    def feed(self, data: bytes) -> None:
        """Check every frame header in ``data``; FrameTooBig when one declares too much."""
        view = memoryview(data)
        while view:
            if self._skip:
                step = min(self._skip, len(view))
                self._skip -= step
                view = view[step:]
                continue
            take = min(len(view), 14 - len(self._header))
            self._header += bytes(view[:take])
            view = view[take:]
            header = self._header
            if len(header) < 2:
                return
            masked = header[1] & 0x80
            short = header[1] & 0x7F
            extra = 2 if short == 126 else 8 if short == 127 else 0
            if len(header) < 2 + extra:
                continue  # the length is still to come (view is empty here)
            if short == 126:
                length = struct.unpack("!H", header[2:4])[0]
            elif short == 127:
                length = struct.unpack("!Q", header[2:10])[0]
            else:
                length = short
            if length > self.limit:
                raise FrameTooBig(f"frame declares {length} bytes, limit {self.limit}")
            need = 2 + extra + (4 if masked else 0)
            if len(header) < need:
                continue  # the masking key is still to come
            # bytes taken past the header belong to the payload
            surplus = len(header) - need
            self._header = b""
            self._skip = length
            if surplus:
                view = memoryview(header[need:] + bytes(view))


def guarded_thread_class(limit: int) -> Callable[..., threading.Thread]:
    """A ``thread_class`` for simple-websocket that checks frame headers before parsing."""

    def make(target: Callable[[], None], **kwargs: Any) -> threading.Thread:
        server = getattr(target, "__self__", None)
        if server is not None:
            _guard(server, limit)
        return threading.Thread(target=target, daemon=True, **kwargs)

    return make


def _guard(server: Any, limit: int) -> None:
    guard = FrameSizeGuard(limit)
    receive = server.ws.receive_data

    def checked(data: bytes | None) -> None:
        if data:
            try:
                guard.feed(data)
            except FrameTooBig:
                server.connected = False
                try:
                    server.sock.send(CLOSE_TOO_BIG)
                finally:
                    server.close_reason = 1009
                    server.event.set()
                raise
        receive(data)

    server.ws.receive_data = checked
