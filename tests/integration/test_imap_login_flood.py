"""200 parallel LOGINs for unknown accounts while a real user logs in again.

The flood pays a full Argon2 per attempt (no account: the dummy hash) on the hashing
threads; the user who logged in a minute ago is let in from the credential cache,
without waiting behind it, and nothing runs out of database connections.
"""

from __future__ import annotations

import imaplib
import threading
import time

import pytest
from support.imap import ALICE, RawClient, ServerHarness

PASSWORD = "alice password"
FLOOD = 200

pytestmark = [
    pytest.mark.imap_server(
        env={
            "MAILRS_IMAP_MAX_CONNECTIONS_PER_IP": "1000",
            "MAILRS_AUTH_MAX_FAILURES_PER_IP": "100000",  # let every attempt reach Argon2
            "MAILRS_AUTH_BASE_DELAY_SECS": "0",
        }
    ),
    pytest.mark.slow,
]


def bad_login(harness: ServerHarness, n: int, start: threading.Event, replies: list[bytes]) -> None:
    """One connection: LOGIN as an account that does not exist."""
    try:
        conn = RawClient(harness.server.host, harness.server.port, timeout=300)
        start.wait()
        lines = conn.command(b"f", f'LOGIN ghost{n}@example.test "wrong password"'.encode())
        replies.append(lines[-1])
        conn.close()
    except OSError as exc:
        replies.append(f"socket error {exc}".encode())


def test_login_flood_leaves_a_known_user_fast(harness: ServerHarness) -> None:
    first = imaplib.IMAP4(harness.server.host, harness.server.port)
    first.login(ALICE, PASSWORD)  # verified once: now in the credential cache
    first.logout()
    start = threading.Event()
    replies: list[bytes] = []
    threads = [
        threading.Thread(target=bad_login, args=(harness, n, start, replies)) for n in range(FLOOD)
    ]
    for thread in threads:
        thread.start()
    start.set()
    time.sleep(0.5)  # the flood is queued on the server now
    began = time.perf_counter()
    again = imaplib.IMAP4(harness.server.host, harness.server.port)
    status, _ = again.login(ALICE, PASSWORD)
    took = time.perf_counter() - began
    again.logout()
    still_running = sum(t.is_alive() for t in threads)
    for thread in threads:
        thread.join(timeout=600)
    print(
        f"\nlogin of a cached user during {FLOOD} parallel bad logins: {took * 1000:.0f} ms "
        f"({still_running} bad logins still unanswered at that moment)"
    )
    assert status == "OK"
    assert len(replies) == FLOOD
    assert not [r for r in replies if b"SERVERBUG" in r or not r.startswith(b"f NO")], replies[:3]
