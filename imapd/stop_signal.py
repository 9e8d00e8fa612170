"""SIGTERM and SIGINT stop the server, whichever thread the kernel hands them to.

Plain Python handlers, not ``loop.add_signal_handler``: asyncio learns of a signal from
the byte it finds in the loop's own wakeup pipe, and when many thread hops finish at
once (1,000 sessions closing) that pipe is full, the byte is dropped and the SIGTERM
lost. A Python handler always runs, but only in the main thread and only once it runs
Python code again: when the kernel delivers the signal to one of the executor's threads,
the main thread may sleep in the loop's ``select`` for as long as its next timer (half
an hour with a session idle), and the SIGTERM waits with it (seen as imapd ignoring a
SIGTERM about one time in 40). So the signal also writes a byte to a socket of its own,
which only signals write to and the loop watches: that wakes ``select`` at once.
"""

from __future__ import annotations

import asyncio
import signal
import socket
from collections.abc import Callable

SIGNALS = (signal.SIGTERM, signal.SIGINT)


def _drain(reader: socket.socket) -> None:
    """Empty the wakeup socket (the handlers themselves do the work)."""
    try:
        while reader.recv(512):
            pass
    except (BlockingIOError, InterruptedError):
        pass


def on_stop_signal(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> Callable[[], None]:
    """Set ``stop`` on SIGTERM or SIGINT (call from the main thread); returns the undo."""
    reader, writer = socket.socketpair()
    reader.setblocking(False)
    writer.setblocking(False)
    for signum in SIGNALS:
        signal.signal(signum, lambda *_: loop.call_soon_threadsafe(stop.set))
    previous = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
    loop.add_reader(reader.fileno(), _drain, reader)

    def undo() -> None:
        signal.set_wakeup_fd(previous)
        loop.remove_reader(reader.fileno())
        reader.close()
        writer.close()

    return undo
