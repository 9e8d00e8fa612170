"""One client connection: greeting, the read-parse-execute loop, timeouts and closing.

The loop never lets an exception reach the client: framing and parse errors answer
BAD, command errors are mapped by ``imapd.commands.execute``, and anything else is
logged and ends the connection quietly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from imapd.backend import Backend
from imapd.commands import execute
from imapd.commands.base import Context
from imapd.errors import ImapError, InputTooLarge, ParseError, reply_for
from imapd.framing import CommandReader, Limits
from imapd.parser import parse_command
from imapd.protocol import CAPABILITIES, Code, Status
from imapd.responses import continuation, status_line
from imapd.session import Session, State

log = logging.getLogger("imapd.connection")

GREETING = status_line(
    None, Status.OK, "mailrs IMAP ready", Code.CAPABILITY, " ".join(CAPABILITIES)
)
BYE_TIMEOUT = status_line(None, Status.BYE, "Autologout; idle for too long")
BYE_SHUTDOWN = status_line(None, Status.BYE, "Server shutting down")
BYE_PROTOCOL = status_line(None, Status.BYE, "Too many protocol errors, closing")


class ClientGone(ConnectionError):
    """The client stopped reading (write timeout) or closed the connection."""


class ResponseWriter:
    """Writes responses, giving up when the client does not read within the timeout."""

    def __init__(self, writer: asyncio.StreamWriter, timeout: float) -> None:
        self._writer = writer
        self._timeout = timeout

    async def send(self, data: bytes) -> None:
        """Write and wait until the bytes are handed to the kernel."""
        self._writer.write(data)
        try:
            async with asyncio.timeout(self._timeout):
                await self._writer.drain()
        except TimeoutError:
            raise ClientGone("client did not read its responses in time") from None


class Connection:
    """The protocol loop of one client."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        backend: Backend,
        limits: Limits,
        timeout: float,
    ) -> None:
        self.writer = writer
        self.timeout = timeout
        self.out = ResponseWriter(writer, timeout)
        self.commands = CommandReader(reader, self._request_literal, limits)
        peer = writer.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
        self.session = Session()
        self.context = Context(self.session, backend, self.out, peer=self.peer)

    async def _request_literal(self) -> None:
        await self.out.send(continuation("Ready for literal data"))

    async def run(self) -> None:
        """Serve the client until LOGOUT, end of input, timeout or shutdown."""
        log.info("connection from %s", self.peer)
        try:
            await self.out.send(GREETING)
            while self.session.state is not State.LOGOUT:
                if not await self._one_command():
                    break
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                self.writer.write(BYE_SHUTDOWN)
            raise
        except ConnectionError:
            pass
        except Exception:
            log.exception("connection from %s failed", self.peer)
        finally:
            await self._close()

    async def _one_command(self) -> bool:
        """Read, parse and run one command; False when the connection must end."""
        try:
            async with asyncio.timeout(self.timeout):
                data = await self.commands.read_command()
        except TimeoutError:
            await self.out.send(BYE_TIMEOUT)
            return False
        except InputTooLarge as exc:
            await self._refuse(exc)
            if exc.fatal:
                await self.out.send(BYE_PROTOCOL)
            return not exc.fatal
        if data is None:
            return False
        try:
            command = parse_command(data)
        except ParseError as exc:
            await self._refuse(exc)
            return True
        await self.out.send(await execute(self.context, command))
        return True

    async def _refuse(self, exc: ImapError) -> None:
        """Answer a command that could not be read or parsed (untagged if no tag was seen)."""
        reply = reply_for(exc)
        await self.out.send(status_line(exc.tag, reply.status, reply.text, reply.code))

    async def _close(self) -> None:
        """Close the socket first (no await before it, so a cancel cannot skip it)."""
        with contextlib.suppress(Exception):
            self.writer.close()
        log.info("connection from %s closed", self.peer)
        if self.context.mail is not None:
            with contextlib.suppress(Exception):
                await self.context.mail.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.writer.wait_closed(), timeout=5)
