"""Backpressure: refuse new mail with 451 4.3.2 while the pipeline is too far behind.

The backlog is the number of accepted messages whose pipeline has not finished and is
not simply waiting for a scheduled retry (a retry queue of unreachable remote domains
must not stop inbound mail). It is counted in the database, so it is the same for every
receiver process and survives restarts, at most every ``REFRESH_SECS`` (in a thread,
one count at a time), plus what this process accepted since the last count. At or above
``smtp.max_pipeline_backlog`` MAIL gets 451 4.3.2; a sending MTA keeps the message and
retries later, so the queue stops growing instead of growing without bound. 0 turns
the check off.
"""

from __future__ import annotations

import asyncio
import logging
import time

from sqlalchemy import func, or_, select

from mailrs.db.engine import Database
from mailrs.db.models import Message
from mailrs.queue.states import IN_FLIGHT

log = logging.getLogger("smtpd")

REFRESH_SECS = 0.25


def count_backlog(db: Database, limit: int) -> int:
    """Unfinished messages not waiting for a retry, counted up to ``limit`` (blocking)."""
    backlog = (
        select(Message.id)
        .where(
            Message.state.in_(IN_FLIGHT),
            # a message the broker refused is marked due, but it is backlog all the same
            or_(Message.next_attempt_at.is_(None), Message.published_at.is_(None)),
        )
        .limit(limit)
        .subquery()
    )
    with db.session() as session:
        return int(session.scalar(select(func.count()).select_from(backlog)) or 0)


class Backlog:
    """The pipeline backlog as one receiver process sees it."""

    def __init__(self, db: Database, limit: int) -> None:
        self.db = db
        self.limit = limit
        self._counted = 0
        self._since = 0  # accepted by this process since the last count
        self._at = float("-inf")
        self._counting: asyncio.Task[None] | None = None

    def accepted(self, count: int = 1) -> None:
        """Note messages this process has just accepted."""
        self._since += count

    async def full(self) -> bool:
        """True when new mail should wait (451 4.3.2)."""
        if self.limit <= 0:
            return False
        if time.monotonic() - self._at >= REFRESH_SECS:
            if self._counting is None:
                self._counting = asyncio.create_task(self._count())
            if self._counted + self._since >= self.limit:
                await asyncio.shield(self._counting)  # about to refuse: be sure
        busy = self._counted + self._since >= self.limit
        if busy:
            log.warning("backpressure: pipeline backlog %d >= %d", self._counted, self.limit)
        return busy

    async def _count(self) -> None:
        since = self._since
        try:
            counted = await asyncio.to_thread(count_backlog, self.db, self.limit)
        except Exception as exc:  # the database is unwell: accept will answer 451 4.3.0
            log.warning("backpressure: cannot count the backlog: %s", exc)
        else:
            self._counted = counted
            self._since -= since
            self._at = time.monotonic()
        finally:
            self._counting = None
