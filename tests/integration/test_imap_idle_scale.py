"""1,000 sessions in IDLE on one imapd, woken together by one delivery.

IDLE costs no thread (one event follower per process wakes the sessions), so a
thousand idle clients fit; the test prints the wake-up time of the last session and
the server's memory per idle connection (PSS growth / sessions).
"""

from __future__ import annotations

import asyncio
import resource
import time
from pathlib import Path

import pytest
from support.imap import ALICE, ServerHarness, sample_message

from mailrs.store.events import NewMail, publish_event

PASSWORD = "alice password"
SESSIONS = 1000

pytestmark = [
    pytest.mark.imap_server(
        env={
            "MAILRS_IMAP_MAX_CONNECTIONS_PER_IP": "5000",
            "MAILRS_IMAP_MAX_CONNECTIONS_PER_USER": "5000",
            # 1,000 logins at once from one address: the throttle counts each attempt
            # before its check, so in-flight logins would count against the per-IP limit
            "MAILRS_AUTH_MAX_FAILURES_PER_IP": "100000",
            "MAILRS_AUTH_MAX_FAILURES_PER_ACCOUNT": "100000",
            "MAILRS_AUTH_BASE_DELAY_SECS": "0",
        }
    ),
    pytest.mark.slow,
]


def _raise_fd_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, needed), hard))


_raise_fd_limit(4 * SESSIONS)  # before the module's imapd starts: it inherits the limit


def pss_kib(pid: int) -> int:
    """The process's proportional set size in KiB."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    raise AssertionError("no Pss line")


class IdleClient:
    """One raw asyncio IMAP session."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def connect(cls, host: str, port: int) -> IdleClient:
        """Connect, read the greeting, LOGIN and SELECT INBOX."""
        reader, writer = await asyncio.open_connection(host, port)
        client = cls(reader, writer)
        assert (await reader.readline()).startswith(b"* OK")
        await client.command(b"l", f'LOGIN {ALICE} "{PASSWORD}"'.encode())
        await client.command(b"s", b"SELECT INBOX")
        return client

    async def command(self, tag: bytes, text: bytes) -> list[bytes]:
        """Send a command and read to its tagged OK."""
        self.writer.write(tag + b" " + text + b"\r\n")
        lines = []
        while True:
            line = await asyncio.wait_for(self.reader.readline(), 120)
            assert line, "server closed the connection"
            lines.append(line)
            if line.startswith(tag + b" "):
                assert line.startswith(tag + b" OK"), line
                return lines

    async def idle(self) -> None:
        """Enter IDLE."""
        self.writer.write(b"i IDLE\r\n")
        line = await asyncio.wait_for(self.reader.readline(), 120)
        assert line.startswith(b"+ "), line

    async def wait_exists(self) -> float:
        """The monotonic time at which an EXISTS arrived."""
        while True:
            line = await asyncio.wait_for(self.reader.readline(), 120)
            assert line, "server closed the connection"
            if line.endswith(b" EXISTS\r\n"):
                return time.monotonic()

    async def done(self) -> None:
        """End IDLE and log out."""
        self.writer.write(b"DONE\r\n")
        while not (await asyncio.wait_for(self.reader.readline(), 120)).startswith(b"i "):
            pass
        await self.command(b"z", b"LOGOUT")
        self.writer.close()


async def _scenario(harness: ServerHarness) -> tuple[float, float, float]:
    host, port = harness.server.host, harness.server.port
    assert harness.server.proc is not None
    pid = harness.server.proc.pid
    first = await IdleClient.connect(host, port)  # warms the credential cache
    await first.idle()
    before = pss_kib(pid)
    clients = [first]
    for start in range(1, SESSIONS, 100):  # in batches: like clients coming online
        batch = range(start, min(SESSIONS, start + 100))
        clients += await asyncio.gather(*(IdleClient.connect(host, port) for _ in batch))
    await asyncio.gather(*(c.idle() for c in clients[1:]))
    await asyncio.sleep(1)
    per_session = (pss_kib(pid) - before) / (SESSIONS - 1)
    waits = [asyncio.create_task(c.wait_exists()) for c in clients]
    delivered = time.monotonic()
    harness.store.deliver(ALICE, sample_message("wake everyone"), "INBOX")
    publish_event(harness.settings, ALICE, NewMail(folder="INBOX"))
    woke = await asyncio.gather(*waits)
    slowest = max(woke) - delivered
    median = sorted(woke)[len(woke) // 2] - delivered
    await asyncio.gather(*(c.done() for c in clients))
    return slowest, median, per_session


def test_a_thousand_idle_sessions_wake_on_one_delivery(harness: ServerHarness) -> None:
    slowest, median, per_session = asyncio.run(_scenario(harness))
    print(
        f"\n{SESSIONS} IDLE sessions: half woken {median * 1000:.0f} ms, all woken "
        f"{slowest * 1000:.0f} ms after the delivery; "
        f"server memory {per_session:.1f} KiB PSS per idle connection"
    )
    assert slowest > 0
    # SIGTERM right after 1,000 sessions closed (their thread hops may fill the loop's
    # wakeup pipe) still ends the server cleanly, not by the harness's SIGKILL
    assert harness.server.stop() == 0
