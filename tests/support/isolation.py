"""The unit tier's guard: while it is on, opening a network socket or starting a process raises.

Unix-domain sockets stay allowed (asyncio's event loop wakes itself through a socket pair).
"""

from __future__ import annotations

import multiprocessing.process
import os
import socket
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


class NotAUnitTest(RuntimeError):
    """A unit test tried to use the network or start a process."""


def _network_guard(name: str, real: Callable[..., Any]) -> Callable[..., Any]:
    def guarded(sock: socket.socket, *args: Any, **kwargs: Any) -> Any:
        if sock.family == socket.AF_UNIX:
            return real(sock, *args, **kwargs)
        raise NotAUnitTest(
            f"socket.{name}{args} in a unit test: move the test to tests/integration/"
        )

    return guarded


def _refuse(what: str) -> Callable[..., Any]:
    def refused(*args: Any, **kwargs: Any) -> Any:
        raise NotAUnitTest(f"{what} in a unit test: move the test to tests/integration/")

    return refused


@contextmanager
def no_network_no_processes() -> Iterator[None]:
    """Make socket connect/bind (except AF_UNIX) and every way of starting a process raise."""
    replaced: list[tuple[object, str, object]] = []

    def swap(owner: object, name: str, value: object) -> None:
        replaced.append((owner, name, getattr(owner, name)))
        setattr(owner, name, value)

    for name in ("connect", "connect_ex", "bind"):
        swap(socket.socket, name, _network_guard(name, getattr(socket.socket, name)))
    swap(subprocess.Popen, "__init__", _refuse("subprocess.Popen"))
    swap(multiprocessing.process.BaseProcess, "start", _refuse("multiprocessing start"))
    swap(os, "fork", _refuse("os.fork"))
    swap(os, "system", _refuse("os.system"))
    try:
        yield
    finally:
        for owner, name, value in reversed(replaced):
            setattr(owner, name, value)
