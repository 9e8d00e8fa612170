"""The spool: each accepted message's raw bytes, written durably before the 250 reply.

``<spool>/tmp/<qid>`` → fsync → rename to ``<spool>/queue/<qid>.eml`` → fsync the folder.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import secrets
import time
from pathlib import Path

from mailrs.errors import SpoolError

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
log = logging.getLogger(__name__)


def new_queue_id() -> str:
    """A unique, time-sortable queue id of 18 characters (Crockford base 32)."""
    number = (time.time_ns() // 1000) << 35 | secrets.randbits(35)
    chars = []
    for _ in range(18):
        number, rem = divmod(number, 32)
        chars.append(_ALPHABET[rem])
    return "".join(reversed(chars))


def derived_queue_id(queue_id: str, kind: str) -> str:
    """A queue id fixed by another message's id and a kind (e.g. of DSN): idempotent makers."""
    number = int.from_bytes(hashlib.sha256(f"{queue_id}/{kind}".encode()).digest()[:12])
    return "".join(_ALPHABET[(number >> (5 * i)) & 31] for i in range(18))


def is_queue_id(text: str) -> bool:
    """True for something shaped like a queue id (safe to use in a path)."""
    return len(text) == 18 and all(ch in _ALPHABET for ch in text)


class Spool:
    """The spool directory."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.queue_dir = self.path / "queue"
        self.tmp_dir = self.path / "tmp"

    def ensure(self) -> None:
        """Create the spool folders."""
        self.queue_dir.mkdir(parents=True, exist_ok=True)
        self.tmp_dir.mkdir(parents=True, exist_ok=True)

    def file_of(self, queue_id: str) -> Path:
        """The spool file of a queue id."""
        if not is_queue_id(queue_id):
            raise SpoolError(f"bad queue id {queue_id!r}")
        return self.queue_dir / f"{queue_id}.eml"

    def write(self, queue_id: str, data: bytes, sync_dir: bool = True) -> int:
        """Write a message durably; returns its size. Raises SpoolError on any failure.

        With ``sync_dir=False`` the file's bytes are on disk but its name in ``queue/``
        is not until ``sync_dir()`` runs: a group commit writes many files, then syncs
        the folder once for all of them before their rows are committed.
        """
        final = self.file_of(queue_id)
        tmp = self.tmp_dir / queue_id
        try:
            with open(tmp, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.rename(tmp, final)
            if sync_dir:
                self._fsync_queue_dir()
        except OSError as exc:
            for leftover in (tmp, final):
                with contextlib.suppress(OSError):  # e.g. queue/ itself is broken
                    leftover.unlink(missing_ok=True)
            raise SpoolError(f"cannot write spool file: {exc.strerror or exc}") from exc
        return len(data)

    def sync_dir(self) -> None:
        """Make the names of every file renamed into ``queue/`` so far durable."""
        try:
            self._fsync_queue_dir()
        except OSError as exc:
            raise SpoolError(f"cannot sync the spool folder: {exc.strerror or exc}") from exc

    def _fsync_queue_dir(self) -> None:
        fd = os.open(self.queue_dir, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def read(self, queue_id: str) -> bytes:
        """The raw bytes of a spooled message."""
        try:
            return self.file_of(queue_id).read_bytes()
        except FileNotFoundError:
            raise SpoolError(f"spool file of {queue_id} is missing") from None

    def exists(self, queue_id: str) -> bool:
        """True while the spool file is there."""
        return self.file_of(queue_id).exists()

    def remove(self, queue_id: str) -> bool:
        """Delete a spool file once the message is finished; False (logged) if that failed.

        It never raises: a file that cannot be removed must not keep the rest of a
        batch's files, and the sweeper collects it later (``mailrs.queue.orphans``).
        """
        try:
            self.file_of(queue_id).unlink(missing_ok=True)
        except (OSError, SpoolError) as exc:
            log.warning("cannot remove the spool file of %s (the sweeper will): %s", queue_id, exc)
            return False
        return True
