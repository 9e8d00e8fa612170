"""The unit tier's guard: a unit test that opens a network socket or starts a process fails."""

from __future__ import annotations

import asyncio
import multiprocessing
import socket
import subprocess
import sys

import pytest
from support.isolation import NotAUnitTest


def test_network_sockets_are_refused() -> None:
    with socket.socket() as sock, pytest.raises(NotAUnitTest, match="tests/integration"):
        sock.bind(("127.0.0.1", 0))
    with socket.socket() as sock, pytest.raises(NotAUnitTest):
        sock.connect(("127.0.0.1", 9))
    with pytest.raises(NotAUnitTest):
        socket.create_connection(("127.0.0.1", 9), timeout=1)


def test_processes_are_refused() -> None:
    with pytest.raises(NotAUnitTest):
        subprocess.run([sys.executable, "-c", "pass"], check=False)
    with pytest.raises(NotAUnitTest):
        multiprocessing.get_context("spawn").Process(target=print).start()


def test_unix_socket_pairs_and_event_loops_still_work() -> None:
    left, right = socket.socketpair()
    with left, right:
        left.sendall(b"ping")
        assert right.recv(4) == b"ping"
    assert asyncio.run(asyncio.sleep(0, result="done")) == "done"
