"""The accept loop of one of several imapd processes on a shared listening socket.

Every process waits on the same socket and the kernel wakes them all for a new
connection; whoever calls ``accept`` first gets it. asyncio's own server accepts up to
its backlog (100) connections per wake-up, so one process took 9 of 10 clients arriving
together and served them on one core while the other idled. Here each process accepts
one connection per wake-up, and a process serving more connections than the least busy
of its siblings first leaves it to them: it looks every ``YIELD_STEP_SECS`` whether the
connection is still waiting, and takes it only if it still is after ``YIELD_MAX_SECS``
(the sibling is busy, or scheduled late on a loaded machine) or once it is no longer
the busier one. The connections per process are gauges in the shared counts.
"""

from __future__ import annotations

import asyncio
import contextlib
import select
import socket
import ssl
from collections.abc import Awaitable, Callable

from mailrs.shared_counts import SharedCounts

YIELD_STEP_SECS = 0.005
YIELD_MAX_SECS = 0.05
Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def process_key(index: int) -> str:
    """The shared gauge of process ``index``'s connections."""
    return f"proc:{index}"


class Acceptor:
    """Accepts connections on listening sockets shared with sibling processes."""

    def __init__(
        self,
        counts: SharedCounts,
        index: int,
        processes: int,
        live: Callable[[], int],
        limit: int,
    ) -> None:
        self._counts = counts
        self._index = index
        self._siblings = [process_key(n) for n in range(processes) if n != index]
        self._live = live
        self._limit = limit
        self._tasks: set[asyncio.Task[None]] = set()

    def start(
        self,
        sock: socket.socket,
        handler: Handler,
        context: ssl.SSLContext | None = None,
        handshake: float | None = None,
    ) -> None:
        """Accept on ``sock`` until ``close``, handing each connection to ``handler``."""
        task = asyncio.create_task(self._accept_loop(sock, handler, context, handshake))
        self._tasks.add(task)

    async def close(self) -> None:
        """Stop accepting (open connections are the server's to close)."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()

    async def _still_mine(self, loop: asyncio.AbstractEventLoop, sock: socket.socket) -> bool:
        """While this process is the busier one, give its siblings the first go (at most
        ``YIELD_MAX_SECS``); False when one of them took the connection meanwhile."""
        deadline = loop.time() + YIELD_MAX_SECS
        while self._busier() and loop.time() < deadline:
            await asyncio.sleep(YIELD_STEP_SECS)
            if not select.select([sock], [], [], 0)[0]:
                return False
        return True

    def _busier(self) -> bool:
        mine = self._live()
        return any(self._counts.count(key) < mine for key in self._siblings)

    async def _accept_loop(
        self,
        sock: socket.socket,
        handler: Handler,
        context: ssl.SSLContext | None,
        handshake: float | None,
    ) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await _readable(loop, sock)
            if not await self._still_mine(loop, sock):
                continue  # a sibling took it
            try:
                conn, _ = sock.accept()
            except (BlockingIOError, InterruptedError, ConnectionAbortedError):
                continue  # a sibling took it
            except OSError:  # out of descriptors and the like: wait, as asyncio does
                await asyncio.sleep(1.0)
                continue
            conn.setblocking(False)
            connecting = asyncio.create_task(self._connect(conn, handler, context, handshake))
            self._tasks.add(connecting)
            connecting.add_done_callback(self._tasks.discard)

    async def _connect(
        self,
        conn: socket.socket,
        handler: Handler,
        context: ssl.SSLContext | None,
        handshake: float | None,
    ) -> None:
        loop = asyncio.get_running_loop()

        def factory() -> asyncio.StreamReaderProtocol:
            reader = asyncio.StreamReader(limit=self._limit, loop=loop)
            return asyncio.StreamReaderProtocol(reader, handler, loop=loop)

        try:
            await loop.connect_accepted_socket(
                factory, conn, ssl=context, ssl_handshake_timeout=handshake
            )
        except (OSError, ssl.SSLError, TimeoutError):
            conn.close()  # a failed TLS handshake or a client gone at once


async def _readable(loop: asyncio.AbstractEventLoop, sock: socket.socket) -> None:
    """Wait until ``sock`` has a connection to accept (or seems to: a sibling may win)."""
    ready: asyncio.Future[None] = loop.create_future()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(sock, wake)
    try:
        await ready
    finally:
        loop.remove_reader(sock)
