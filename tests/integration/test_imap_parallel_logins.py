"""Many clients of one account logging in at once from one address, as imaptest's stress
mode does: none is refused or slowed as if it had failed, and guesses are still limited.

The throttle counts an attempt before its password is checked; without taking turns,
ten simultaneous good logins were all counted first and passed the per-account limit
(``NO [UNAVAILABLE] Too many failed logins``).
"""

from __future__ import annotations

import threading

import pytest
from support.imap import ALICE, RawClient, ServerHarness

PASSWORD = "alice password"
CLIENTS = 12  # more than max_failures_per_account (5) and a few hashing threads

pytestmark = pytest.mark.imap_server(
    env={"MAILRS_IMAP_MAX_CONNECTIONS_PER_IP": "1000", "MAILRS_AUTH_BASE_DELAY_SECS": "0.05"}
)


def _logins(harness: ServerHarness, password: str, count: int, rounds: int = 1) -> list[bytes]:
    """``count`` clients LOGIN at the same moment, ``rounds`` times each; the tagged replies."""
    start = threading.Event()
    replies: list[bytes] = []
    guard = threading.Lock()

    def one() -> None:
        for _ in range(rounds):
            conn = RawClient(harness.server.host, harness.server.port, timeout=120)
            start.wait()
            reply = conn.command(b"l", f'LOGIN {ALICE} "{password}"'.encode())[-1]
            with guard:
                replies.append(reply)
            conn.close()

    threads = [threading.Thread(target=one) for _ in range(count)]
    for thread in threads:
        thread.start()
    start.set()
    for thread in threads:
        thread.join(timeout=300)
    return replies


def test_simultaneous_good_logins_all_get_in(harness: ServerHarness) -> None:
    replies = _logins(harness, PASSWORD, CLIENTS)  # a cold credential cache
    assert len(replies) == CLIENTS
    assert all(r.startswith(b"l OK") for r in replies), replies
    replies = _logins(harness, PASSWORD, CLIENTS, rounds=3)  # reconnecting clients
    assert len(replies) == 3 * CLIENTS
    assert all(r.startswith(b"l OK") for r in replies), replies


def test_simultaneous_guesses_are_still_limited(harness: ServerHarness) -> None:
    replies = _logins(harness, "wrong password", CLIENTS)
    refused = [r for r in replies if r.startswith(b"l NO [AUTHENTICATIONFAILED]")]
    blocked = [r for r in replies if r.startswith(b"l NO [UNAVAILABLE]")]
    assert len(refused) + len(blocked) == CLIENTS, replies
    assert len(refused) <= 5 and blocked  # max_failures_per_account checks, then refusals
    # the owner, verified a moment ago, is let in from the credential cache meanwhile
    conn = RawClient(harness.server.host, harness.server.port)
    assert conn.command(b"o", f'LOGIN {ALICE} "{PASSWORD}"'.encode())[-1].startswith(b"o OK")
    conn.close()
