"""Which files of a Maildir folder changed, from the kernel (Linux inotify), per process.

Without it the index learns of changes by comparing a folder's ``new/`` and ``cur/``
with its rows, which it may skip only while the directories' mtimes are safely in the
past; under concurrent sessions that is never, so every command listed ``cur/``. With
it, a long-lived process (imapd enables it) watches ``new/`` and ``cur/`` of the
folders it syncs and keeps, per folder, the names created, renamed or removed since
the index last looked: the index then examines just those names.

The kernel queues an event inside the system call that causes it, so a change that
completed before ``consume`` drains the queue is always seen by it. A queue overflow, a
watch the kernel dropped, or a directory that is no longer the inode watched (the
folder was renamed or recreated) asks for a full scan instead (``Changes.full``).
Where inotify is missing or its limits are reached, ``watching()`` is None and the index
scans as before. Thread-safe: the sessions of one process share one watch.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import struct
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from mailrs.store.filenames import INFO_SEP

IN_MOVED_FROM = 0x40
IN_MOVED_TO = 0x80
IN_CREATE = 0x100
IN_DELETE = 0x200
IN_DELETE_SELF = 0x400
IN_MOVE_SELF = 0x800
IN_Q_OVERFLOW = 0x4000
IN_IGNORED = 0x8000
IN_ONLYDIR = 0x01000000
_MASK = IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF
_LOST = IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED
_EVENT = struct.Struct("iIII")  # wd, mask, cookie, len; then len bytes of name
SUBDIRS = ("new", "cur")
MAX_FOLDERS = 2048  # watched at once (two kernel watches each): folders of gone sessions go

type Identity = tuple[int, int, int, int]  # (dev, ino) of new/ and cur/


@dataclass
class Changes:
    """What changed in a folder since the last ``consume``: names, or ``full`` to rescan."""

    full: bool
    names: set[tuple[str, str]] = field(default_factory=set)  # (subdir, file name)


@dataclass
class _Folder:
    identity: Identity
    wds: tuple[int, ...]
    names: set[tuple[str, str]] = field(default_factory=set)
    lost: bool = False  # events may be missing: the next consume asks for a full scan
    lock: threading.Lock = field(default_factory=threading.Lock)  # one consumer at a time


def identity(folder: Path) -> Identity | None:
    """The (device, inode) of the folder's new/ and cur/, or None if one is missing."""
    try:
        new, cur = (os.stat(os.path.join(folder, sub)) for sub in SUBDIRS)
    except FileNotFoundError:
        return None
    return (new.st_dev, new.st_ino, cur.st_dev, cur.st_ino)


class FolderWatch:
    """One inotify instance watching the folders this process syncs."""

    def __init__(self) -> None:
        libc = ctypes.CDLL(None, use_errno=True)  # the C library the interpreter runs on
        self._add = libc.inotify_add_watch
        self._add.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]
        self._rm = libc.inotify_rm_watch
        self._rm.argtypes = [ctypes.c_int, ctypes.c_int]
        fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if fd < 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))
        self._fd = fd
        self._lock = threading.Lock()  # the maps below and the queue
        self._folders: dict[str, _Folder] = {}
        self._by_wd: dict[int, list[tuple[str, str]]] = {}  # wd -> [(folder, subdir)]

    def close(self) -> None:
        """Stop watching (the instance's file descriptor is closed)."""
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1
            self._folders.clear()
            self._by_wd.clear()

    def _drain(self) -> None:
        """Read every queued event into the folders' change sets (lock held)."""
        while True:
            try:
                data = os.read(self._fd, 65536)
            except BlockingIOError:
                return
            offset = 0
            while offset < len(data):
                wd, mask, _cookie, size = _EVENT.unpack_from(data, offset)
                offset += _EVENT.size
                name = data[offset : offset + size].rstrip(b"\0").decode("utf-8", "surrogateescape")
                offset += size
                if mask & IN_Q_OVERFLOW:
                    for each in self._folders.values():
                        each.lost = True
                    continue
                for key, subdir in self._by_wd.get(wd, ()):
                    found = self._folders.get(key)
                    if found is None:
                        continue
                    if mask & _LOST:
                        found.lost = True
                    elif name:
                        found.names.add((subdir, name))

    def _watch(self, key: str, folder: Path, ident: Identity) -> _Folder:
        """Watch new/ and cur/ of a folder (lock held); OSError when the kernel refuses."""
        old = self._folders.pop(key, None)
        if old is not None:
            self._forget(key, old)
        wds: list[int] = []
        for sub in SUBDIRS:
            wd = self._add(self._fd, os.fsencode(folder / sub), _MASK | IN_ONLYDIR)
            if wd < 0:
                err = ctypes.get_errno()
                for added in wds:
                    self._unwatch(key, added)
                raise OSError(err, os.strerror(err), str(folder / sub))
            wds.append(wd)
            self._by_wd.setdefault(wd, []).append((key, sub))
        record = _Folder(ident, tuple(wds), lost=True)
        self._folders[key] = record
        return record

    def _unwatch(self, key: str, wd: int) -> None:
        users = [u for u in self._by_wd.get(wd, []) if u[0] != key]
        if users:
            self._by_wd[wd] = users
            return
        self._by_wd.pop(wd, None)
        self._rm(self._fd, wd)  # fails harmlessly for a watch the kernel already dropped

    def _forget(self, key: str, record: _Folder) -> None:
        for wd in record.wds:
            self._unwatch(key, wd)

    def _evict(self, keep: str) -> None:
        """Stop watching the least recently used folders beyond MAX_FOLDERS (lock held);
        one consumed again is watched anew and compared whole once."""
        while len(self._folders) > MAX_FOLDERS:
            oldest = next(iter(self._folders))
            if oldest == keep:
                return
            self._forget(oldest, self._folders.pop(oldest))

    @contextlib.contextmanager
    def consume(self, folder: Path) -> Iterator[Changes | None]:
        """The changes of a folder since the last consume, taken for the caller to apply.

        Consumers of one folder run one at a time, so when a consume returns no
        change, no change taken by another is still being applied. None: the folder
        cannot be watched (scan it). If the caller fails, the next consume asks for a
        full scan.
        """
        key = str(folder)
        ident = identity(folder)
        with self._lock:
            if self._fd < 0:
                record = None
            else:
                self._drain()
                record = self._folders.get(key)
                if ident is None:
                    if record is not None:
                        self._folders.pop(key)
                        self._forget(key, record)
                    record = None
                elif record is None or record.identity != ident:
                    try:
                        record = self._watch(key, folder, ident)
                    except OSError:
                        record = None
                    self._evict(key)
                else:
                    self._folders[key] = self._folders.pop(key)  # most recently used last
        if record is None:
            yield None
            return
        with record.lock:
            with self._lock:
                if self._fd >= 0:
                    self._drain()
                changes = Changes(record.lost, record.names)
                record.names, record.lost = set(), False
            try:
                yield changes
            except BaseException:
                record.lost = True
                raise

    def settled(self, folder: Path, keys: set[str]) -> bool:
        """True when no event queued since the last consume names one of these keys.

        After checking which of a consume's names exist, the caller asks this: a
        file that seemed gone may have been renamed meanwhile, its new name queued.
        """
        with self._lock:
            if self._fd < 0:
                return False
            self._drain()
            record = self._folders.get(str(folder))
            if record is None or record.lost:
                return False
            return not any(name.partition(INFO_SEP)[0] in keys for _, name in record.names)


_watch: FolderWatch | None = None
_watch_lock = threading.Lock()


def enable() -> FolderWatch | None:
    """Start this process's folder watch (a long-lived server calls it); None if unavailable."""
    global _watch
    with _watch_lock:
        if _watch is None and sys.platform.startswith("linux"):
            try:
                _watch = FolderWatch()
            except (OSError, AttributeError):  # no inotify, or no instance left
                _watch = None
        return _watch


def disable() -> None:
    """Stop this process's folder watch."""
    global _watch
    with _watch_lock:
        if _watch is not None:
            _watch.close()
            _watch = None


def watching() -> FolderWatch | None:
    """This process's folder watch, if enabled."""
    return _watch
