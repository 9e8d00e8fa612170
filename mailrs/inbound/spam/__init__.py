"""The spam hook: pluggable scorers found through the ``mailrs.spam_filters`` entry points.

A filter is made by a factory ``factory(settings) -> SpamFilter`` registered under a name
in the entry-point group ``mailrs.spam_filters``; ``spam.filter`` picks one by name. The
built-in ones are ``builtin`` (header heuristics and Authentication-Results), ``rspamd``
(rspamd's HTTP protocol) and ``none``. A verdict never drops a message: it only adds
``X-Spam-*`` headers and may file the message into Junk.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Protocol

from mailrs.config import Settings
from mailrs.errors import ConfigError

ENTRY_POINT_GROUP = "mailrs.spam_filters"


@dataclass(frozen=True)
class SpamEnvelope:
    """What a scorer may know besides the bytes."""

    queue_id: str
    mail_from: str
    recipients: tuple[str, ...]
    client_addr: str = ""
    helo: str = ""
    auth_user: str | None = None


@dataclass(frozen=True)
class SpamResult:
    """A scorer's answer: a score and the names of the rules that fired."""

    score: float
    symbols: tuple[str, ...] = field(default_factory=tuple)
    action: str = ""  # the scorer's own advice, if it has one (rspamd's "action")


class SpamFilter(Protocol):
    """Something that scores a message."""

    def check(self, data: bytes, envelope: SpamEnvelope) -> SpamResult:
        """Score one message (may raise; the caller records the error and goes on)."""
        ...


class NoFilter:
    """The ``none`` filter: every message scores 0."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def check(self, data: bytes, envelope: SpamEnvelope) -> SpamResult:
        """Score 0, no symbols."""
        return SpamResult(0.0)


def load_filter(settings: Settings) -> SpamFilter:
    """The filter named by ``spam.filter`` (ConfigError if no entry point has that name)."""
    name = settings.spam.filter
    found = entry_points(group=ENTRY_POINT_GROUP, name=name)
    if not found:
        known = sorted(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))
        raise ConfigError(f"spam.filter: no filter named {name!r} (known: {', '.join(known)})")
    factory = next(iter(found)).load()
    return factory(settings)  # type: ignore[no-any-return]


def is_spam(settings: Settings, result: SpamResult) -> bool:
    """True when the score reaches the configured threshold."""
    return result.score >= settings.spam.threshold


def spam_headers(settings: Settings, result: SpamResult) -> str:
    """``X-Spam-Status`` / ``X-Spam-Score`` header lines (CRLF-terminated)."""
    flag = "Yes" if is_spam(settings, result) else "No"
    tests = ",".join(result.symbols)[:700] or "none"
    status = (
        f"X-Spam-Status: {flag}, score={result.score:.1f} "
        f"required={settings.spam.threshold:.1f}\r\n\ttests={tests}\r\n"
    )
    return status + f"X-Spam-Score: {result.score:.1f}\r\n" + f"X-Spam-Flag: {flag.upper()}\r\n"
