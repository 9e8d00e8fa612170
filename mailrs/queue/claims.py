"""Per-message claims: one runner at a time works on a message.

A runner (the pipeline task, deliver, relay) takes an exclusive ``flock`` on each
message's spool file before it loads the message, and holds it until it has committed
what it did. A second runner of the same message (a sweep re-published it, the broker
redelivered the task) finds it claimed and leaves it to the holder. The kernel drops
the lock when its process dies, kill -9 included, so a message that a dead worker left
half way is taken over at once, and under a claim a delivery marked "delivering" can
only have been left by a dead runner.

The database transitions stay compare-and-set beneath the claims (``UPDATE … WHERE
state = <what this runner loaded>``, see the stages): a second runner that gets past
a claim (a spool on a file system without working locks) still finds each stage
taken and stops.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterable
from types import TracebackType

from mailrs.errors import SpoolError
from mailrs.queue.spool import Spool


class Claims:
    """The messages one runner holds; a context manager that releases them all."""

    def __init__(self, spool: Spool) -> None:
        self.spool = spool
        self._held: dict[str, int] = {}

    def take(self, queue_ids: Iterable[str]) -> list[str]:
        """The queue ids this runner may work on now, in order (claimed ones left out).

        A message whose spool file is gone (finished, or lost) has nothing to lock: it is
        returned, and its stages find it finished or report the missing file.
        """
        mine: list[str] = []
        for queue_id in dict.fromkeys(queue_ids):
            if queue_id in self._held:
                mine.append(queue_id)
                continue
            try:
                fd = os.open(self.spool.file_of(queue_id), os.O_RDONLY | os.O_CLOEXEC)
            except (OSError, SpoolError):
                mine.append(queue_id)
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:  # a live runner holds it
                os.close(fd)
                continue
            self._held[queue_id] = fd
            mine.append(queue_id)
        return mine

    def holds(self, queue_id: str) -> bool:
        """True when this runner holds the message's lock (not merely found no file)."""
        return queue_id in self._held

    def release(self) -> None:
        """Let go of every claim (closing the file drops its lock)."""
        held, self._held = self._held, {}
        for fd in held.values():
            with contextlib.suppress(OSError):
                os.close(fd)

    def __enter__(self) -> Claims:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
