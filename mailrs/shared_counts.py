"""Counters shared by the forked processes of one service (connections in all, per IP, per user).

Made before the fork (``mailrs.prefork``), so every child maps the same pages: a table
of (64-bit key hash, count) slots in a shared memory file (a memfd: it lives exactly as
long as the processes that map it), with open addressing. Each change holds a POSIX
record lock on that file for a few microseconds: it excludes the other processes (such
locks belong to a process, and the kernel drops them if the holder dies), and a thread
lock excludes the other threads of one process. A slot whose count fell to 0 is reused;
when used slots pass three quarters of the table, the live ones are packed again.

The table has room for at least twice ``max_keys`` live keys; past three quarters of
it ``take`` refuses (as over a limit), so a full table never loses a count. A child
that dies leaves its counts behind, which is why ``mailrs.prefork`` stops the whole
unit when one child dies.
"""

from __future__ import annotations

import fcntl
import hashlib
import mmap
import os
import struct
import threading

_HEADER = struct.Struct("<q")  # slots in use (live or emptied)
_SLOT = struct.Struct("<Qq")  # key hash (0: never used), count
MIN_SLOTS = 64


def _hash(key: str) -> int:
    value = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "little")
    return value or 1


class SharedCounts:
    """Counts by key, shared with every process forked after it was made."""

    def __init__(self, max_keys: int) -> None:
        slots = MIN_SLOTS
        while slots < 2 * max_keys:
            slots *= 2
        self.max_keys = max_keys
        self._slots = slots
        self._full = slots * 3 // 4
        self._fd = os.memfd_create("mailrs-counts", os.MFD_CLOEXEC)
        size = _HEADER.size + slots * _SLOT.size
        os.ftruncate(self._fd, size)
        self._map = mmap.mmap(self._fd, size, mmap.MAP_SHARED)
        self._thread_lock = threading.Lock()

    def take(self, key: str, limit: int) -> bool:
        """Add one to ``key`` if it is below ``limit``; False (nothing added) otherwise."""
        with self._locked():
            offset, count = self._find(_hash(key), create=True)
            if offset < 0 or count >= limit:
                return False
            self._store(offset, count + 1)
            return True

    def give(self, key: str) -> None:
        """Take one from ``key`` (what ``take`` added)."""
        with self._locked():
            offset, count = self._find(_hash(key), create=False)
            if offset >= 0 and count > 0:
                self._store(offset, count - 1)

    def set(self, key: str, value: int) -> None:
        """Make ``key`` count ``value`` (a gauge, such as one process's connections)."""
        with self._locked():
            offset, _ = self._find(_hash(key), create=value > 0)
            if offset >= 0:
                self._store(offset, value)

    def count(self, key: str) -> int:
        """The count of ``key`` now."""
        with self._locked():
            return self._find(_hash(key), create=False)[1]

    def close(self) -> None:
        """Unmap the table (other processes keep theirs)."""
        self._map.close()
        os.close(self._fd)

    # -- the table, under the lock ---------------------------------------------------------

    def _locked(self) -> _Held:
        return _Held(self._thread_lock, self._fd)

    def _find(self, hashed: int, create: bool) -> tuple[int, int]:
        """(offset, count) of the slot for ``hashed``; with ``create`` a free slot for a
        new key (count 0); offset -1 when there is none."""
        mask = self._slots - 1
        index = hashed & mask
        reusable = -1
        for _ in range(self._slots):
            offset = _HEADER.size + index * _SLOT.size
            key, count = _SLOT.unpack_from(self._map, offset)
            if key == hashed:
                return offset, count
            if key == 0:
                break
            if count == 0 and reusable < 0:
                reusable = offset
            index = (index + 1) & mask
        else:
            offset = -1  # every slot used: only an emptied one can take the key
        if not create:
            return -1, 0
        if reusable >= 0:
            _SLOT.pack_into(self._map, reusable, hashed, 0)
            return reusable, 0
        used = _HEADER.unpack_from(self._map, 0)[0]
        if offset < 0 or used + 1 > self._full:
            if not self._pack():
                return -1, 0
            return self._find(hashed, create)
        _SLOT.pack_into(self._map, offset, hashed, 0)
        _HEADER.pack_into(self._map, 0, used + 1)
        return offset, 0

    def _store(self, offset: int, count: int) -> None:
        key = _SLOT.unpack_from(self._map, offset)[0]
        _SLOT.pack_into(self._map, offset, key, count)

    def _pack(self) -> bool:
        """Drop the emptied slots and place the live ones again; False if the table is
        full of live keys."""
        live = []
        for index in range(self._slots):
            key, count = _SLOT.unpack_from(self._map, _HEADER.size + index * _SLOT.size)
            if key and count:
                live.append((key, count))
        if len(live) + 1 > self._full:
            return False
        self._map[:] = bytes(len(self._map))
        mask = self._slots - 1
        for key, count in live:
            index = key & mask
            while _SLOT.unpack_from(self._map, _HEADER.size + index * _SLOT.size)[0]:
                index = (index + 1) & mask
            _SLOT.pack_into(self._map, _HEADER.size + index * _SLOT.size, key, count)
        _HEADER.pack_into(self._map, 0, len(live))
        return True


class _Held:
    """The thread lock, then the record lock on the whole file."""

    def __init__(self, thread_lock: threading.Lock, fd: int) -> None:
        self._thread_lock = thread_lock
        self._fd = fd

    def __enter__(self) -> None:
        self._thread_lock.acquire()
        try:
            fcntl.lockf(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self._thread_lock.release()
            raise

    def __exit__(self, *_exc: object) -> None:
        try:
            fcntl.lockf(self._fd, fcntl.LOCK_UN)
        finally:
            self._thread_lock.release()
