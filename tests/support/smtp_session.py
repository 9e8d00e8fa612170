"""An SMTP session with no network: our protocol object on a transport that records bytes.

As aiosmtpd's own tests do, the protocol is made by the server's real factory and given a
transport; the test feeds it the client's bytes and reads back what it wrote. The handler
is the real one (SQLite, the spool, the embedded broker's files): only the socket is gone.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from aiosmtpd.smtp import SMTP

from mailrs.celery import configure
from mailrs.config import Settings
from mailrs.db.engine import Database
from mailrs.queue.spool import Spool
from smtpd.connections import ConnectionLimiter
from smtpd.handler import MailHandler
from smtpd.protocol import Listener
from smtpd.server import make_protocol_factory
from smtpd.shutdown import Sessions

MX = Listener("mx")
SUBMISSION = Listener("submission", require_auth=True)
_LAST_LINE = re.compile(rb"(?:^|\r\n)(\d{3}) [^\r\n]*\r\n$")
REPLY_TIMEOUT = 30.0


class RecordingTransport(asyncio.Transport):
    """What the protocol writes goes into ``written``; ``close`` only marks it closed."""

    def __init__(self, peer: tuple[str, int]) -> None:
        super().__init__(extra={"peername": peer, "sockname": ("127.0.0.1", 25)})
        self.written = bytearray()
        self.closed = False
        self.wrote = asyncio.Event()

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Record the bytes."""
        self.written += bytes(data)
        self.wrote.set()

    def is_closing(self) -> bool:
        """True once closed."""
        return self.closed

    def close(self) -> None:
        """Mark the transport closed."""
        self.closed = True
        self.wrote.set()

    def get_write_buffer_size(self) -> int:
        """Nothing is ever buffered."""
        return 0


class SocketFreeSession:
    """One client conversation with a protocol object; every call returns the reply text."""

    def __init__(self, protocol: SMTP, peer: tuple[str, int]) -> None:
        self.protocol = protocol
        self.transport = RecordingTransport(peer)
        self._read = 0

    async def open(self) -> str:
        """Connect; the greeting (or refusal)."""
        self.protocol.connection_made(self.transport)
        return await self.reply()

    async def reply(self) -> str:
        """The next complete reply (all lines of a multi-line one, without the final CRLF)."""
        async with asyncio.timeout(REPLY_TIMEOUT):
            while True:
                pending = bytes(self.transport.written[self._read :])
                if _LAST_LINE.search(pending) or (self.transport.closed and not pending):
                    self._read += len(pending)
                    return pending.decode("utf-8", "replace").removesuffix("\r\n")
                self.transport.wrote.clear()
                await self.transport.wrote.wait()

    async def send(self, data: bytes) -> str:
        """Feed raw bytes as the client sent them; the reply they bring."""
        self.protocol.data_received(data)
        return await self.reply()

    async def command(self, line: str | bytes) -> str:
        """One command line (CRLF added); its reply."""
        raw = line.encode() if isinstance(line, str) else line
        return await self.send(raw + b"\r\n")

    async def last(self, line: str | bytes) -> str:
        """One command line; the last line of its reply."""
        return (await self.command(line)).rsplit("\r\n", 1)[-1]

    async def close(self) -> None:
        """The client goes away; the protocol's handler task ends."""
        if not self.transport.closed:
            self.transport.close()
        self.protocol.connection_lost(None)
        task: Any = getattr(self.protocol, "_handler_coroutine", None)
        if task is not None:
            await asyncio.wait([task], timeout=REPLY_TIMEOUT)


class SocketFreeSmtp:
    """The smtpd of one test without listeners: its handler, limiter and protocol factory."""

    def __init__(self, settings: Settings, max_connections: int = 10) -> None:
        self.settings = settings
        self.db = Database.from_settings(settings)
        self.spool = Spool(settings.spool_path)
        self.spool.ensure()
        self.handler = MailHandler(settings, self.db, self.spool, configure(settings))
        self.connections = ConnectionLimiter(max_connections, max_connections)
        self.sessions = Sessions()

    def session(self, listener: Listener = MX, peer: str = "192.0.2.10") -> SocketFreeSession:
        """A new client conversation on ``listener`` from ``peer``."""
        factory = make_protocol_factory(
            self.settings, self.handler, listener, None, self.connections, self.sessions
        )
        return SocketFreeSession(factory(), (peer, 40000))

    async def close(self) -> None:
        """Wait for hand-offs still under way, then close the database."""
        await self.handler.drain()
        self.db.dispose()
