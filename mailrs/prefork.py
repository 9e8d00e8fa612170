"""Several processes of one service on the same listening sockets (``[smtp] processes``,
``[imap] processes``).

One process binds every listener, then forks that many children, after every import
(so the children share the parent's pages until they write to them). Each child runs
the whole server on the inherited sockets and the kernel hands each new connection to
one of them; the parent only waits. To the supervisor of ``mailrs up`` the parent is
the service, one unit: SIGTERM or SIGINT to it is passed to every child, which stops
gracefully, and it exits when they all have; if a child dies, the parent stops the
others and exits 1, so the supervisor restarts the whole; if the parent dies
(SIGKILL), each child notices within ``PARENT_POLL_SECS`` and stops gracefully too.
What each service shares between its children, and what it keeps per process, its
own module says (``smtpd.server.serve_processes``, ``imapd.server.serve_processes``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
import traceback
from collections.abc import Callable

log = logging.getLogger(__name__)
PARENT_POLL_SECS = 0.5
BACKLOG = 100  # asyncio's own default for create_server

Bound = dict[str, list[socket.socket]]
"""Listening sockets bound before forking, by listener name."""


def bind(host: str, port: int) -> list[socket.socket]:
    """Listening sockets for ``host:port`` (one per address it resolves to, as asyncio
    binds them); raises OSError."""
    sockets: list[socket.socket] = []
    infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    try:
        for family, kind, proto, _, address in dict.fromkeys(infos):
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
            sock.listen(BACKLOG)
            sock.setblocking(False)
    except OSError:
        for sock in sockets:
            sock.close()
        raise
    return sockets


def bind_all(addresses: dict[str, tuple[str, int]], service: str) -> Bound | None:
    """Bind every named listener (before forking); None, said on stderr, when one cannot be."""
    bound: Bound = {}
    for name, (host, port) in addresses.items():
        try:
            bound[name] = bind(host, port)
        except OSError as exc:
            reason = exc.strerror or exc
            print(f"{service}: cannot listen on {host}:{port}: {reason}", file=sys.stderr)
            for sockets in bound.values():
                for sock in sockets:
                    sock.close()
            return None
    return bound


def run_children(count: int, child: Callable[[int, int], int], name: str = "server") -> int:
    """Fork ``count`` children running ``child(index, parent_pid)``; supervise them.

    Returns 0 when every child stopped after SIGTERM/SIGINT to this process, 1 when one
    died on its own (the others are then stopped).
    """
    parent = os.getpid()
    children: dict[int, int] = {}
    for index in range(count):
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            os._exit(_run_child(child, index, parent))
        children[pid] = index
    return _supervise(children, name)


def _run_child(child: Callable[[int, int], int], index: int, parent: int) -> int:
    code = 1
    try:
        code = child(index, parent)
    except BaseException:  # whatever it was, the parent must see this child gone
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    return code


def _supervise(children: dict[int, int], name: str) -> int:
    """Wait for the children; pass SIGTERM/SIGINT on; stop all when one dies."""
    stopping = False
    code = 0

    def stop_all(_signum: int = 0, _frame: object = None) -> None:
        nonlocal stopping
        stopping = True
        for pid in list(children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop_all)
    signal.signal(signal.SIGINT, stop_all)
    while children:
        try:
            pid, status = os.waitpid(-1, 0)
        except ChildProcessError:
            break
        index = children.pop(pid, None)
        if index is None:
            continue
        exit_code = os.waitstatus_to_exitcode(status)
        if not stopping:
            log.error(
                "%s process %d (pid %d) exited with %d: stopping the others",
                name,
                index,
                pid,
                exit_code,
            )
            code = 1
            stop_all()
    return code


async def watch_parent(parent: int, stop: asyncio.Event, name: str = "server") -> None:
    """Set ``stop`` when the process that forked this one is gone."""
    while not stop.is_set():
        await asyncio.sleep(PARENT_POLL_SECS)
        if os.getppid() != parent:
            log.warning("the parent %s process is gone: stopping", name)
            stop.set()
