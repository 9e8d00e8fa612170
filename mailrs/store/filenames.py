"""Maildir file names: unique and stable base names, the ``:2,`` info and flag letters.

A message's *key* is its file name without the ``:2,`` info; it never changes. Names
follow the Maildir specification (``<time>.M<usec>P<pid>Q<n>R<rand>.<host>,S=<size>``),
so other Maildir readers accept what we write.
"""

from __future__ import annotations

import itertools
import os
import secrets
import socket
import time

INFO_SEP = ":2,"
VALID_FLAGS = "DFPRST"
_counter = itertools.count(1)


def split_filename(filename: str) -> tuple[str, str]:
    """Split a Maildir file name into (key, flags)."""
    key, sep, flags = filename.partition(INFO_SEP)
    return key, (flags if sep else "")


def is_plain_name(name: str) -> bool:
    """True for a name that stays inside its directory and is not hidden."""
    return bool(name) and "/" not in name and "\0" not in name and not name.startswith(".")


def hint_relpath(key: str, filename: str) -> str:
    """Where a file name hint for ``key`` points, relative to the folder directory.

    A name with ``:2,`` info lives in cur/, one without in new/. Raises ValueError when
    the hint is not a plain file name of that very message.
    """
    if not is_plain_name(filename) or split_filename(filename)[0] != key:
        raise ValueError(f"{filename!r} is not a file name of message {key!r}")
    return ("cur/" if INFO_SEP in filename else "new/") + filename


def normalize_flags(flags: str) -> str:
    """Keep known flag letters once each, sorted as the specification asks."""
    return "".join(sorted(set(flags) & set(VALID_FLAGS)))


def _escape_host(host: str) -> str:
    """The host part of a Maildir name: '/', ':' and ',' escaped as the spec asks."""
    return host.replace("/", "\\057").replace(":", "\\072").replace(",", "\\054")


_HOST = _escape_host(socket.gethostname() or "localhost")


def _time_parts(when: float) -> tuple[int, int]:
    seconds = int(when)
    return seconds, int((when - seconds) * 1_000_000)


def unique_name() -> str:
    """A new unique Maildir base name: time, microseconds, pid, counter, random, host."""
    seconds, usec = _time_parts(time.time())
    return f"{seconds}.M{usec}P{os.getpid()}Q{next(_counter)}R{secrets.token_hex(4)}.{_HOST}"


def stable_name(when: float, marker: str, host: str) -> str:
    """A Maildir base name fixed by its inputs, for deliveries that may be repeated."""
    if not marker.isalnum():
        raise ValueError("marker must be alphanumeric")
    seconds, usec = _time_parts(when)
    return f"{seconds}.M{usec}X{marker}.{_escape_host(host) if host else _HOST}"
