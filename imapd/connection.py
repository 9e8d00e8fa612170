"""One client connection: greeting, the read-parse-execute loop, timeouts and closing.

The loop never lets an exception reach the client: framing and parse errors answer
BAD, command errors are mapped by ``imapd.commands.execute``, and anything else is
logged and ends the connection quietly. The connection also serves the few commands
that talk to the socket themselves (AUTHENTICATE continuations, IDLE's DONE, the
STARTTLS handshake) through the ``Channel`` methods.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable

from imapd.backend import Backend
from imapd.commands import execute
from imapd.commands.base import Context
from imapd.commands.idle import poll_secs, wake_source
from imapd.commands.notify import notify_changes
from imapd.compress import start_compression
from imapd.errors import ImapError, InputTooLarge, ParseError, reply_for
from imapd.framing import CommandReader, Limits
from imapd.parser import parse_command
from imapd.policy import ServerPolicy
from imapd.protocol import Code, Status
from imapd.responses import continuation, status_line
from imapd.session import Session, State

log = logging.getLogger("imapd.connection")
_QUICKACK: int | None = getattr(socket, "TCP_QUICKACK", None)

BYE_TIMEOUT = status_line(None, Status.BYE, "Autologout; idle for too long")
BYE_SHUTDOWN = status_line(None, Status.BYE, "Server shutting down")
BYE_PROTOCOL = status_line(None, Status.BYE, "Too many protocol errors, closing")
BYE_TOO_MANY = status_line(None, Status.BYE, "Too many connections from your address")


class ClientGone(ConnectionError):
    """The client stopped reading (write timeout) or closed the connection."""


class ResponseWriter:
    """Writes responses, giving up when the client does not read within the timeout.

    While a command runs the writer is *corked*: its untagged responses are gathered
    and go out with the tagged reply in one write (one segment instead of several, and
    no small segment left waiting for the client's delayed ACK). A continuation request
    (``+ ``) is written at once and ends the cork, since the client answers it
    (AUTHENTICATE, IDLE); so does a gathered batch larger than ``FLUSH_BYTES``.
    """

    FLUSH_BYTES = 64 * 1024

    def __init__(self, writer: asyncio.StreamWriter, timeout: float) -> None:
        self._writer = writer
        self._timeout = timeout
        self._corked = False
        self._pending: list[bytes] = []
        self._pending_size = 0

    def cork(self) -> None:
        """Gather what is sent until ``flush``."""
        self._corked = True

    async def send(self, data: bytes) -> None:
        """Write (or gather, while corked) and wait until the bytes are handed to the kernel."""
        if data.startswith(b"+"):
            self._corked = False
        self._pending.append(data)
        self._pending_size += len(data)
        if self._corked and self._pending_size < self.FLUSH_BYTES:
            return
        await self.flush(keep_cork=True)

    async def flush(self, keep_cork: bool = False) -> None:
        """Write everything gathered in one write; ends the cork unless ``keep_cork``."""
        self._corked = self._corked and keep_cork
        if not self._pending:
            return
        data = self._pending[0] if len(self._pending) == 1 else b"".join(self._pending)
        self._pending, self._pending_size = [], 0
        self._writer.write(data)
        try:
            async with asyncio.timeout(self._timeout):
                await self._writer.drain()
        except TimeoutError:
            raise ClientGone("client did not read its responses in time") from None

    def write_pending(self) -> None:
        """Hand what is gathered to the transport without waiting (before closing)."""
        if self._pending:
            self._writer.write(b"".join(self._pending))
            self._pending, self._pending_size = [], 0


class Connection:
    """The protocol loop of one client."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        backend: Backend,
        limits: Limits,
        timeout: float,
        policy: ServerPolicy | None = None,
        tls: bool = False,
        on_login: Callable[[str], bool] | None = None,
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.timeout = timeout
        self.limits = limits
        self.out = ResponseWriter(writer, timeout)
        self.commands = CommandReader(reader, self._request_literal, limits, self._quickack)
        peer = writer.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
        self.peer_ip = peer[0] if isinstance(peer, tuple) else ""
        self.session = Session(tls=tls)
        self._busy = asyncio.Lock()  # held while a command runs or NOTIFY reports
        self._watcher: asyncio.Task[None] | None = None  # follows events for NOTIFY
        self.context = Context(
            self.session,
            backend,
            self.out,
            peer=self.peer,
            policy=policy or ServerPolicy(),
            channel=self,
            peer_ip=self.peer_ip,
            on_login=on_login,
        )

    async def _request_literal(self) -> None:
        await self.out.send(continuation("Ready for literal data"))

    def _quickack(self) -> None:
        """ACK a literal's bytes at once: a client with Nagle on (imaplib) holds the CRLF
        that ends the command until they are acknowledged, and a delayed ACK costs
        up to 40 ms. Set after the ``+`` (so the kernel ACKs the literal on arrival,
        before this process is even scheduled) and again after the literal is read
        (TCP_QUICKACK is Linux's and not permanent; elsewhere this does nothing)."""
        sock = self.writer.get_extra_info("socket")
        if sock is not None and _QUICKACK is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)

    # -- the Channel used by AUTHENTICATE, IDLE and STARTTLS ------------------------------

    async def read_line(self, timeout: float) -> bytes | None:
        """One line from the client without its line end (None at end of input)."""
        await self.out.flush()
        try:
            async with asyncio.timeout(timeout):
                line = await self.reader.readuntil(b"\n")
        except (asyncio.IncompleteReadError, TimeoutError):
            return None
        except asyncio.LimitOverrunError:
            raise InputTooLarge("Line too long", fatal=True) from None
        return line.rstrip(b"\r\n")

    def line_ready(self) -> bool:
        """True when bytes from the client are already buffered."""
        return bool(getattr(self.reader, "_buffer", b""))

    async def start_tls(self) -> None:
        """Upgrade the connection to TLS (after the tagged OK of STARTTLS)."""
        context = self.context.policy.tls_context
        if context is None:
            raise ConnectionError("TLS is not configured")
        await self.writer.start_tls(context)
        self.session.tls = True

    # -- the loop -----------------------------------------------------------------------

    def greeting(self) -> bytes:
        """The untagged OK with the capabilities."""
        return status_line(
            None,
            Status.OK,
            "mailrs IMAP ready",
            Code.CAPABILITY,
            " ".join(self.context.capabilities()),
        )

    async def run(self, refuse: bool = False) -> None:
        """Serve the client until LOGOUT, end of input, timeout or shutdown."""
        log.info("connection from %s", self.peer)
        try:
            if refuse:
                await self.out.send(BYE_TOO_MANY)
                return
            await self.out.send(self.greeting())
            while self.session.state is not State.LOGOUT:
                if not await self._one_command():
                    break
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                self.writer.write(BYE_SHUTDOWN)
            raise
        except ConnectionError:
            pass
        except InputTooLarge:
            with contextlib.suppress(Exception):
                await self.out.send(BYE_PROTOCOL)
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
            async with self._busy:
                await self._refuse(exc)
            return True
        async with self._busy:
            self.out.cork()
            reply = await execute(self.context, command)
            await self.out.send(reply)
            await self.out.flush()
        self._follow_notify()
        if command.name == "STARTTLS" and reply.startswith(command.tag.encode() + b" OK"):
            if self.line_ready():
                log.warning("plaintext sent after STARTTLS by %s; closing", self.peer)
                return False  # command injection before the handshake (CVE-2011-0411)
            try:
                async with asyncio.timeout(self.timeout):
                    await self.start_tls()
            except (OSError, TimeoutError, ConnectionError) as exc:
                log.info("TLS handshake with %s failed: %s", self.peer, exc)
                return False
        if command.name == "COMPRESS" and reply.startswith(command.tag.encode() + b" OK"):
            if self.line_ready():
                return False  # uncompressed bytes after COMPRESS: cannot tell them apart
            start_compression(self.writer)
            self.context.compressed = True
        return True

    def _follow_notify(self) -> None:
        """Start following the user's events after NOTIFY SET; stop after NOTIFY NONE."""
        wanted = self.session.notify is not None and self.session.state is not State.LOGOUT
        if wanted and self._watcher is None:
            self._watcher = asyncio.create_task(self._watch())
        elif not wanted and self._watcher is not None:
            self._watcher.cancel()
            self._watcher = None

    async def _watch(self) -> None:
        """NOTIFY between commands (RFC 5465): report changes as events arrive."""
        try:
            async with wake_source(self.context) as wake:
                while self.session.notify is not None:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(wake.wait(), poll_secs(self.context))
                    wake.clear()
                    async with self._busy:
                        if self.session.notify is None:
                            break
                        await notify_changes(self.context)
                        await self.out.flush()
        except ConnectionError:
            self.writer.close()  # the command loop sees the end of input and finishes
        except Exception:
            log.exception("NOTIFY for %s failed", self.peer)
            self.writer.close()

    async def _refuse(self, exc: ImapError) -> None:
        """Answer a command that could not be read or parsed (untagged if no tag was seen)."""
        reply = reply_for(exc)
        await self.out.send(status_line(exc.tag, reply.status, reply.text, reply.code))

    async def _close(self) -> None:
        """Close the socket first (no await before it, so a cancel cannot skip it)."""
        if self._watcher is not None:
            self._watcher.cancel()
        with contextlib.suppress(Exception):
            self.out.write_pending()
            self.writer.close()
        log.info("connection from %s closed", self.peer)
        if self.context.mail is not None:
            with contextlib.suppress(Exception):
                await self.context.mail.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.writer.wait_closed(), timeout=5)
