"""Reading one command from the socket: its lines and literals, within hard limits.

A command is a line, or several lines joined by literals (``{n}`` asks for a ``+``
continuation first, ``{n+}`` does not). Nothing unbounded is ever held in memory: a
line longer than ``max_line`` is skipped up to its end (at most ``max_discard``
bytes), and a literal larger than ``max_literal`` is refused before it is read. When
the client would send the refused bytes anyway (a non-synchronising literal), the
error is fatal, since reading on would run the literal's bytes as commands.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from imapd.cursor import literal_at_end, peek_tag
from imapd.errors import InputTooLarge
from imapd.protocol import Code


@dataclass(frozen=True)
class Limits:
    """Size limits of one command."""

    max_line: int = 64 * 1024
    max_literal: int = 64 * 1024
    max_command: int = 256 * 1024
    max_discard: int = 1024 * 1024
    # A literal must arrive within this many seconds plus one per LITERAL_RATE bytes,
    # however steadily it trickles (TimeoutError: the connection ends with BYE).
    literal_deadline: float = 120.0


LITERAL_RATE = 64 * 1024  # bytes per second a literal must at least arrive at


_TAIL = 64  # bytes of a skipped line kept to see whether it announced a literal


def _strip_line_end(line: bytes) -> bytes:
    line = line[:-1] if line.endswith(b"\n") else line
    return line[:-1] if line.endswith(b"\r") else line


class CommandReader:
    """Reads complete commands from a stream; the stream's own limit must be ``max_line``."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        request_literal: Callable[[], Awaitable[None]],
        limits: Limits,
        after_literal: Callable[[], None] | None = None,
    ) -> None:
        self._reader = reader
        self._request_literal = request_literal
        self._after_literal = after_literal
        self.limits = limits

    async def read_command(self) -> bytes | None:
        """The next command's bytes without the final line end; None at end of input."""
        parts: list[bytes] = []
        total = 0
        while True:
            try:
                line = await self._read_line()
            except InputTooLarge as exc:
                if parts:  # the overlong line continues a command after a literal
                    exc.tag = peek_tag(parts[0])
                raise
            if line is None:
                return None
            parts.append(line)
            total += len(line)
            tag = peek_tag(parts[0])
            announced = literal_at_end(line)
            if len(line) > self.limits.max_line + 2 or total > self.limits.max_command:
                fatal = announced is not None and not announced.synchronizing
                raise InputTooLarge("Command line too long", tag=tag, fatal=fatal)
            if announced is None:
                parts[-1] = _strip_line_end(line)
                return b"".join(parts)
            size = announced.size
            if size < 0 or size > self.limits.max_literal or total + size > self.limits.max_command:
                raise InputTooLarge(
                    "Literal too large", Code.TOOBIG, tag=tag, fatal=not announced.synchronizing
                )
            if announced.synchronizing:
                await self._request_literal()
                if self._after_literal is not None:
                    self._after_literal()  # ACK the literal's bytes as they arrive
            try:
                async with asyncio.timeout(self.limits.literal_deadline + size / LITERAL_RATE):
                    parts.append(await self._reader.readexactly(size))
            except asyncio.IncompleteReadError:
                return None
            if self._after_literal is not None and b"\n" not in getattr(
                self._reader, "_buffer", b""
            ):
                self._after_literal()  # the line's rest is still to come: ACK now
            total += size

    async def _read_line(self) -> bytes | None:
        """One line with its line end; an overlong line is skipped and reported."""
        try:
            return await self._reader.readuntil(b"\n")
        except asyncio.IncompleteReadError:
            return None  # end of input, maybe in the middle of a line
        except asyncio.LimitOverrunError as exc:
            head = await self._reader.readexactly(exc.consumed)
        tag = peek_tag(head)
        tail = await self._skip_rest_of_line(head)
        announced = literal_at_end(tail)
        fatal = announced is not None and not announced.synchronizing
        raise InputTooLarge("Command line too long", tag=tag, fatal=fatal)

    async def _skip_rest_of_line(self, head: bytes) -> bytes:
        """Discard up to the end of the current line; returns its last bytes."""
        skipped = len(head)
        last = head[-_TAIL:]
        while True:
            try:
                return last + await self._reader.readuntil(b"\n")
            except asyncio.IncompleteReadError as exc:
                raise InputTooLarge("Command line too long", fatal=True) from exc
            except asyncio.LimitOverrunError as exc:
                chunk = await self._reader.readexactly(exc.consumed)
                last = (last + chunk)[-_TAIL:]
                skipped += len(chunk)
                if skipped > self.limits.max_discard:
                    raise InputTooLarge("Command line too long", fatal=True) from None
