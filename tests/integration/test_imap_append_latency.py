"""APPEND from Python's imaplib, which leaves Nagle on and sends the literal's CRLF apart.

Without an immediate ACK of the literal the client holds that CRLF for the server's
delayed ACK (~40 ms a command). The test prints the median; it asserts what was stored.
"""

from __future__ import annotations

import imaplib
import statistics
import time

import pytest
from support.imap import ALICE, ServerHarness, sample_message

PASSWORD = "alice password"
ROUNDS = 30

pytestmark = pytest.mark.imap_server()


def test_imaplib_append_median(harness: ServerHarness) -> None:
    client = imaplib.IMAP4(harness.server.host, harness.server.port)
    client.login(ALICE, PASSWORD)
    client.create("Appended")
    timings = []
    for n in range(ROUNDS):
        start = time.perf_counter()
        status, _ = client.append("Appended", None, None, sample_message(f"append {n}"))
        timings.append((time.perf_counter() - start) * 1000)
        assert status == "OK"
    status, data = client.select("Appended")
    client.logout()
    print(f"\nimaplib APPEND median over {ROUNDS}: {statistics.median(timings):.1f} ms")
    assert status == "OK" and data == [str(ROUNDS).encode()]
