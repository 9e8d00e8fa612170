"""A graceful stop that never lies: 421 only to sessions whose mail we will not deliver.

On SIGTERM the listeners close first. Then each session is told (``begin_shutdown``):
one that is idle, between transactions or before DATA gets ``421 4.3.2`` and is closed
at once (nothing of it was accepted, so the client's retry is right); one in DATA, or
whose message is being committed, carries on and gets its real reply (250 after the
commit), then the 421, then the close. A session still receiving DATA when the drain
timeout runs out is cut off before its message is committed (421, nothing stored); one
whose commit has started is always waited for, so a 250 is never lost and a message
that will be delivered never gets a 421.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

DRAIN_SECS = 10.0
COMMIT_WAIT_SECS = 10.0


class Drainable(Protocol):
    """What the shutdown needs from a session (``smtpd.protocol.MailSMTP``)."""

    @property
    def in_data(self) -> bool:
        """True from the DATA command until its reply is sent."""

    @property
    def committing(self) -> bool:
        """True while its message is being stored (the durable hand-off)."""

    def begin_shutdown(self) -> None:
        """Answer 421 and close now, or after the reply of the DATA under way."""

    def cut_off(self) -> None:
        """Answer 421 and close now (only before the commit has started)."""


class Sessions:
    """The open sessions of one smtpd, and whether it is shutting down."""

    def __init__(self) -> None:
        self.open: set[Drainable] = set()
        self.draining = False

    def add(self, session: Drainable) -> None:
        """Register a new session."""
        self.open.add(session)

    def discard(self, session: Drainable) -> None:
        """Forget a closed session."""
        self.open.discard(session)

    def __len__(self) -> int:
        return len(self.open)

    async def drain(self, timeout: float = DRAIN_SECS) -> int:
        """Stop every session without lying to it; returns how many were cut off."""
        self.draining = True
        for session in list(self.open):
            session.begin_shutdown()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while any(s.in_data for s in self.open) and loop.time() < deadline:
            await asyncio.sleep(0.05)
        cut = 0
        for session in list(self.open):
            if session.in_data and not session.committing:
                session.cut_off()
                cut += 1
        deadline = loop.time() + COMMIT_WAIT_SECS
        while any(s.committing for s in self.open) and loop.time() < deadline:
            await asyncio.sleep(0.05)
        return cut
