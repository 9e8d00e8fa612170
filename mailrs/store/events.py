"""Mailbox events (new mail, flag changes, expunges) from one process to every other.

The events are typed: ``NewMail``, ``FlagsChanged``, ``Expunged`` and ``MailboxChanged``,
each naming the folder, the UIDs and MODSEQ where known, and the ``source`` of the change
(``imap``, ``web``, ``assistant``, ``deliver``...). The mailbox service
(``mailrs.store.mailbox``) publishes them after every change it commits; an IMAP session
in IDLE or a web chat calls ``subscribe`` and waits on ``Subscription.get_event``. On the
wire an event is one JSON object (``to_json`` / ``event_from_json``). When the broker is Redis
the events travel over Redis pub/sub (so every machine sees them); otherwise they go
through a small append-only file per user under ``data/events/`` that subscribers
follow, which needs no server and works between the processes of one machine.

Events are notifications, not the record: a subscriber that misses one still finds the
change in the Maildir and the mailbox index. ``publish_event`` therefore never raises.
``Subscription.get`` blocks: async code calls it through ``asyncio.to_thread``.
"""

from __future__ import annotations

import abc
import contextlib
import fcntl
import hashlib
import json
import logging
import os
import time
from dataclasses import dataclass, fields, replace
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, Protocol

from mailrs.config import Settings

log = logging.getLogger(__name__)

CHANNEL_PREFIX = "mailrs:events:"  # then the broker's database number, ":" and the user key
ROTATE_BYTES = 256 * 1024
POLL_SECS = 0.05
MAX_EVENT_BYTES = 3500  # one write() below PIPE_BUF-sized appends stays whole


@dataclass(frozen=True, kw_only=True)
class MailboxEvent:
    """Something changed in one of a user's mailboxes."""

    kind: ClassVar[str] = ""
    folder: str
    source: str = ""  # who made the change: imap, web, assistant, deliver...
    user: str = ""  # the mailbox owner; set by publish_event

    def to_json(self) -> dict[str, Any]:
        """The event as a JSON object (the ``kind`` names its type)."""
        data: dict[str, Any] = {"kind": self.kind}
        for item in fields(self):
            value = getattr(self, item.name)
            data[item.name] = list(value) if isinstance(value, tuple) else value
        return data


@dataclass(frozen=True, kw_only=True)
class NewMail(MailboxEvent):
    """Messages arrived in a folder (delivery, APPEND, COPY, MOVE)."""

    kind: ClassVar[str] = "new_mail"
    uids: tuple[int, ...] = ()  # empty: not known yet (a delivery the index has not seen)
    modseq: int | None = None
    subject: str = ""
    sender: str = ""
    queue_id: str = ""


@dataclass(frozen=True, kw_only=True)
class FlagsChanged(MailboxEvent):
    """Flags or keywords of some messages changed."""

    kind: ClassVar[str] = "flags"
    uids: tuple[int, ...] = ()
    modseq: int | None = None


@dataclass(frozen=True, kw_only=True)
class Expunged(MailboxEvent):
    """Messages left a folder for good (EXPUNGE, MOVE away, delete)."""

    kind: ClassVar[str] = "expunge"
    uids: tuple[int, ...] = ()
    modseq: int | None = None


@dataclass(frozen=True, kw_only=True)
class MailboxChanged(MailboxEvent):
    """A folder was created, deleted or renamed (``old_name`` for a rename)."""

    kind: ClassVar[str] = "mailbox"
    change: str = ""  # created, deleted, renamed
    old_name: str = ""


EVENT_TYPES: dict[str, type[MailboxEvent]] = {
    cls.kind: cls for cls in (NewMail, FlagsChanged, Expunged, MailboxChanged)
}


_ALIASES = {"from": "sender"}  # the name older publishers gave NewMail's sender


def event_from_json(data: dict[str, Any]) -> MailboxEvent | None:
    """The typed event of a JSON object; None for an unknown kind or malformed fields."""
    cls = EVENT_TYPES.get(str(data.get("kind", "")))
    if cls is None:
        return None
    data = {_ALIASES.get(k, k): v for k, v in data.items()}
    names = {item.name for item in fields(cls)}
    given = {k: v for k, v in data.items() if k in names}
    try:
        if "uids" in given:
            given["uids"] = tuple(int(uid) for uid in given["uids"])
        if given.get("modseq") is not None:
            given["modseq"] = int(given["modseq"])
        for name, value in given.items():
            if name not in ("uids", "modseq") and not isinstance(value, str):
                return None
        return cls(**given)
    except (TypeError, ValueError):
        return None


def _uses_redis(settings: Settings) -> bool:
    return settings.celery.broker_url.startswith(("redis://", "rediss://"))


def _key(user: str) -> str:
    return hashlib.sha256(user.strip().lower().encode()).hexdigest()[:40]


def events_dir(settings: Settings) -> Path:
    """The folder of the file-based event logs."""
    return settings.data_dir / "events"


def publish_event(settings: Settings, user: str, event: MailboxEvent | dict[str, Any]) -> None:
    """Tell every subscriber of ``user`` about ``event`` (best effort; never raises).

    An event too large for one write loses its UID list (subscribers then look at the
    whole folder, as they would after a missed event).
    """
    owner = user.strip().lower()
    if isinstance(event, MailboxEvent):
        event = replace(event, user=owner)
        payload = event.to_json()
    else:
        payload = dict(event, user=owner)
    line = json.dumps(payload, ensure_ascii=True, separators=(",", ":"))
    if len(line) > MAX_EVENT_BYTES and isinstance(event, NewMail | FlagsChanged | Expunged):
        line = json.dumps(replace(event, uids=()).to_json(), separators=(",", ":"))
    if len(line) > MAX_EVENT_BYTES:
        log.warning("event for %s too large (%d bytes); dropped", user, len(line))
        return
    try:
        if _uses_redis(settings):
            url = settings.celery.broker_url
            _redis_client(url).publish(channel(url, _key(user)), line)
        else:
            _append(events_dir(settings), _key(user), line)
    except Exception as exc:  # noqa: BLE001 - events are best effort by design
        log.warning("could not publish event for %s: %s", user, exc)


def subscribe_all(settings: Settings) -> Subscription | None:
    """One feed of every user's events (each carries its ``user``), or None when the
    events go through files (one per user: follow those users with ``subscribe``).

    A process serving many users (imapd, the web app) keeps one of these and fans
    events out by their ``user`` field, instead of one subscription per connection.
    """
    if _uses_redis(settings):
        return _RedisSubscription(settings.celery.broker_url, "*", pattern=True)
    return None


def subscribe(settings: Settings, user: str) -> Subscription:
    """Start listening to ``user``'s events; only events published after this call arrive."""
    if _uses_redis(settings):
        return _RedisSubscription(settings.celery.broker_url, _key(user))
    return _FileSubscription(events_dir(settings), _key(user))


class Subscription(Protocol):
    """A live feed of one user's events."""

    def get(self, timeout: float) -> dict[str, Any] | None:
        """The next event, or None when ``timeout`` seconds pass without one."""
        ...

    def get_event(self, timeout: float) -> MailboxEvent | None:
        """The next typed event (others are skipped), or None after ``timeout`` seconds."""
        ...

    def close(self) -> None:
        """Stop listening and release the connection or file."""
        ...

    def __enter__(self) -> Subscription: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class _Closing(abc.ABC):
    @abc.abstractmethod
    def get(self, timeout: float) -> dict[str, Any] | None:
        """The next event as JSON, or None when ``timeout`` seconds pass without one."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the subscription's connection or file."""

    def get_event(self, timeout: float) -> MailboxEvent | None:
        """The next typed event (others are skipped), or None after ``timeout`` seconds."""
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            raw = self.get(max(0.0, deadline - time.monotonic()))
            if raw is None:
                return None
            event = event_from_json(raw)
            if event is not None:
                return event

    def __enter__(self) -> Subscription:
        return self  # type: ignore[return-value]

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


# --- Redis pub/sub -------------------------------------------------------------------

_clients: dict[str, Any] = {}


def _redis_client(url: str) -> Any:
    import redis

    client = _clients.get(url)
    if client is None:
        client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
        _clients[url] = client
    return client


def channel(url: str, key: str) -> str:
    """The pub/sub channel of ``key`` on the Redis at ``url``.

    Pub/sub channels belong to the whole server, not to a database: the database number
    in the name keeps sites (or test runs) that share one Redis server on different
    databases from hearing each other's events.
    """
    import redis

    db = redis.connection.parse_url(url).get("db", 0)
    return f"{CHANNEL_PREFIX}{db}:{key}"


class _RedisSubscription(_Closing):
    def __init__(self, url: str, key: str, pattern: bool = False) -> None:
        import redis

        self._client = redis.Redis.from_url(url, socket_connect_timeout=2)
        self._pubsub = self._client.pubsub(ignore_subscribe_messages=True)
        if pattern:
            self._pubsub.psubscribe(channel(url, key))
        else:
            self._pubsub.subscribe(channel(url, key))

    def get(self, timeout: float) -> dict[str, Any] | None:
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            left = deadline - time.monotonic()
            message = self._pubsub.get_message(timeout=max(0.0, left))
            if message is not None and message.get("type") in ("message", "pmessage"):
                return _decode(message["data"])
            if left <= 0:
                return None

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._pubsub.close()
        with contextlib.suppress(Exception):
            self._client.close()


# --- files under data/events ---------------------------------------------------------


def _append(folder: Path, key: str, line: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{key}.jsonl"
    with open(folder / f"{key}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            with contextlib.suppress(FileNotFoundError):
                if path.stat().st_size > ROTATE_BYTES:
                    # Subscribers drain the old inode, then notice the new one.
                    path.rename(folder / f"{key}.old")
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, (line + "\n").encode())
            finally:
                os.close(fd)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


class _FileSubscription(_Closing):
    def __init__(self, folder: Path, key: str) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self._path = folder / f"{key}.jsonl"
        self._file: Any = None
        self._inode = -1
        self._buffer = b""
        self._pending: list[dict[str, Any]] = []
        self._open(at_end=True)

    def _open(self, at_end: bool) -> None:
        try:
            fd = os.open(self._path, os.O_RDONLY | os.O_CREAT, 0o600)
        except OSError:
            return
        self._file = os.fdopen(fd, "rb")
        self._inode = os.fstat(fd).st_ino
        self._buffer = b""
        if at_end:
            self._file.seek(0, os.SEEK_END)

    def _read_new(self) -> None:
        if self._file is None:
            self._open(at_end=False)
            if self._file is None:
                return
        chunk = self._file.read()
        try:
            inode = os.stat(self._path).st_ino
        except FileNotFoundError:
            inode = self._inode
        if inode != self._inode:
            # Rotated: finish the old file, then follow the new one from its start.
            chunk += self._file.read()
            self._file.close()
            self._open(at_end=False)
            if self._file is not None:
                chunk += self._file.read()
        if not chunk:
            return
        self._buffer += chunk
        *lines, self._buffer = self._buffer.split(b"\n")
        for raw in lines:
            event = _decode(raw)
            if event is not None:
                self._pending.append(event)

    def get(self, timeout: float) -> dict[str, Any] | None:
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            if not self._pending:
                self._read_new()
            if self._pending:
                return self._pending.pop(0)
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            time.sleep(min(POLL_SECS, left))

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _decode(raw: bytes | str) -> dict[str, Any] | None:
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None
