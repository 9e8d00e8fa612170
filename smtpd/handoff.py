"""The durable hand-off, batched: group commits of accepted messages, batched publishing.

Each message's spool file is written and fsynced in its own thread (in parallel, from a
pool sized for many sessions, so that the file system overlaps their fsyncs). Its row is
then committed by one committer thread that takes every message waiting at that moment:
it fsyncs the spool folder once for all their renames, then commits their rows in a
single transaction (``mailrs.queue.accept.record_messages``): one folder sync and one
database commit per batch, and no lock contention between sessions, however many are
sending. Only when that commit returns is the session answered 250. Publishing to the
broker works the same way, off the reply path: one thread publishes whatever is waiting
as one pipeline chain and marks it published with one UPDATE
(``mailrs.queue.publish.publish_and_mark``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from celery import Celery

from mailrs.db.engine import Database
from mailrs.errors import SpoolError
from mailrs.queue.accept import Envelope, check_envelope, record_messages
from mailrs.queue.canvas import MAX_BATCH
from mailrs.queue.publish import publish_and_mark
from mailrs.queue.spool import Spool, new_queue_id

log = logging.getLogger("smtpd")
SPOOL_THREADS = 32


class _Batcher:
    """Runs ``work(batch)`` in one thread, over everything queued while the last one ran.

    With ``linger`` (seconds) a batch that is not yet ``fill`` items long waits that
    long for more before it starts: fewer, larger batches at the cost of that delay.
    """

    def __init__(
        self, name: str, work: Callable[[list[Any]], Any], linger: float = 0.0, fill: int = 1
    ) -> None:
        self._work = work
        self._linger = linger
        self._fill = fill
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._pending: list[tuple[Any, asyncio.Future[Any] | None]] = []
        self._running: asyncio.Future[Any] | None = None
        self._timer: asyncio.TimerHandle | None = None

    def submit(self, item: Any, waiter: asyncio.Future[Any] | None = None) -> None:
        """Queue one item; ``waiter`` gets the batch's outcome."""
        self._pending.append((item, waiter))
        self._kick()

    def _kick(self) -> None:
        if self._running is not None or not self._pending:
            return
        if self._linger > 0 and len(self._pending) < self._fill:
            if self._timer is None:
                loop = asyncio.get_running_loop()
                self._timer = loop.call_later(self._linger, self._lingered)
            return
        self._start()

    def _lingered(self) -> None:
        self._timer = None
        if self._running is None and self._pending:
            self._start()

    def _start(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self._pending = self._pending, []
        loop = asyncio.get_running_loop()
        self._running = loop.run_in_executor(
            self._executor, self._work, [item for item, _ in batch]
        )
        self._running.add_done_callback(lambda done: self._finished(batch, done))

    def _finished(self, batch: list[tuple[Any, asyncio.Future[Any] | None]], done: Any) -> None:
        self._running = None
        error = done.exception()
        for _, waiter in batch:
            if waiter is None or waiter.done():
                continue
            if error is not None:
                waiter.set_exception(error)
            else:
                waiter.set_result(None)
        self._kick()

    async def drain(self, timeout: float) -> None:
        """Wait for the work under way and queued (at shutdown)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while (self._running is not None or self._pending) and (
            asyncio.get_running_loop().time() < deadline
        ):
            await asyncio.sleep(0.05)
        self._executor.shutdown(wait=False)


class Handoff:
    """Spool, commit and publish accepted messages for every session of one process."""

    def __init__(
        self, db: Database, spool: Spool, celery_app: Celery, publish_wait_secs: float = 0.0
    ) -> None:
        self.db = db
        self.spool = spool
        self.celery_app = celery_app
        self._spooling = ThreadPoolExecutor(max_workers=SPOOL_THREADS, thread_name_prefix="spool")
        self._commits = _Batcher("commit", self._commit)
        # Publishing waits up to publish_wait_secs to gather a fuller chain: each chain
        # costs the workers four broker hops whatever its size (mailrs.queue.canvas).
        self._publishes = _Batcher("publish", self._publish, publish_wait_secs, MAX_BATCH)

    async def accept(self, envelope: Envelope, data: bytes) -> str:
        """Store one message durably and return its queue id; raises SpoolError."""
        check_envelope(envelope)
        queue_id = new_queue_id()
        size = await asyncio.get_running_loop().run_in_executor(
            self._spooling, self.spool.write, queue_id, data, False
        )
        committed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._commits.submit((queue_id, envelope, size), committed)
        await committed
        self._publishes.submit(queue_id)
        return queue_id

    def _commit(self, spooled: list[tuple[str, Envelope, int]]) -> None:
        try:
            self.spool.sync_dir()  # the batch's renames, before any of its rows
        except SpoolError:
            for queue_id, _, _ in spooled:
                self.spool.remove(queue_id)
            raise
        record_messages(self.db, self.spool, spooled)

    def _publish(self, queue_ids: list[str]) -> None:
        """One chain per batch of messages committed together (few broker hops per message)."""
        published = publish_and_mark(self.celery_app, self.db, queue_ids)
        for queue_id in published.unsent:  # broker down: the messages are safe in the spool
            log.warning("cannot publish %s (the sweeper will): %s", queue_id, published.error)

    async def drain(self, timeout: float = 5.0) -> None:
        """Finish commits and publishes under way (at shutdown)."""
        await self._commits.drain(timeout)
        await self._publishes.drain(timeout)
        self._spooling.shutdown(wait=False)
