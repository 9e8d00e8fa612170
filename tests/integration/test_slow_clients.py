"""Clients that trickle bytes are cut off: an overall deadline for SMTP DATA and for an
IMAP literal, however steadily the bytes keep coming (raw sockets against real servers)."""

from __future__ import annotations

import select
import socket
import time
from pathlib import Path

import pytest
from support.config import provision
from support.processes import python_m, running, service_env
from support.smtp import ALICE, RawSession, smtp_server

from mailrs.config import load_settings, parse_hostport

pytestmark = pytest.mark.slow


def trickle_until_answered(sock: socket.socket, budget: float = 30.0) -> tuple[bytes, float]:
    """Send one byte every 0.3 s until the server says something; (what it said, seconds)."""
    started = time.monotonic()
    while time.monotonic() - started < budget:
        readable, _, _ = select.select([sock], [], [], 0.3)
        if readable:
            try:
                return sock.recv(4096), time.monotonic() - started
            except OSError:
                return b"", time.monotonic() - started
        try:
            sock.sendall(b"x")
        except OSError:
            return b"", time.monotonic() - started
    pytest.fail("the server kept reading a trickling client")


def test_smtp_data_has_an_overall_deadline(tmp_path: Path) -> None:
    with smtp_server(tmp_path, tls=False, MAILRS_SMTP_DATA_DEADLINE_SECS="2") as server:
        with RawSession(server, "mx") as raw:
            assert raw.command(b"EHLO client.test").startswith(b"250")
            assert raw.command(b"MAIL FROM:<someone@remote.test>").startswith(b"250")
            assert raw.command(b"RCPT TO:<" + ALICE.encode() + b">").startswith(b"250")
            assert raw.command(b"DATA").startswith(b"354")
            answer, seconds = trickle_until_answered(raw.sock)
            assert answer.startswith(b"421"), answer
            assert seconds < 20
        assert server.count(ALICE) == 0
        # the server still serves others
        with server.client("mx") as client:
            assert client.ehlo("other.test")[0] == 250


def test_imap_literal_has_an_overall_deadline(tmp_path: Path) -> None:
    config = provision(tmp_path, users=(ALICE,))
    env = service_env(config, MAILRS_IMAP_LITERAL_DEADLINE_SECS="1")
    host, port = parse_hostport(load_settings(config, environ={}).imap.listen_addr)
    with running(python_m("imapd", "--config", str(config)), "IMAP server listening", env=env):
        sock = socket.create_connection((host, port), timeout=10)
        try:
            assert sock.recv(4096).startswith(b"* OK")
            sock.sendall(b"a LOGIN {100}\r\n")
            assert sock.recv(4096).startswith(b"+")
            answer, seconds = trickle_until_answered(sock)
            assert answer.startswith(b"* BYE"), answer
            assert seconds < 20
        finally:
            sock.close()
        with socket.create_connection((host, port), timeout=10) as other:
            assert other.recv(4096).startswith(b"* OK")
