"""Message rate limits per client IP and per authenticated user, with the ``limits`` library.

Each MAIL FROM counts as one message. The counters live in Redis when the broker is Redis
(shared by every smtpd instance) and in memory otherwise (``accounts.throttle.limit_storage``).
The calls may touch the network: run ``allow`` in a thread.
"""

from __future__ import annotations

import logging

from limits import RateLimitItem, RateLimitItemPerMinute
from limits.strategies import MovingWindowRateLimiter

from mailrs.accounts.throttle import limit_storage
from mailrs.config import Settings

_NAMESPACE = "mailrs-smtp"
log = logging.getLogger("smtpd")


class MessageRates:
    """Per-IP and per-user messages-per-minute limits (0 disables one)."""

    def __init__(self, settings: Settings) -> None:
        smtp = settings.smtp
        self._per_ip: RateLimitItem | None = (
            RateLimitItemPerMinute(smtp.messages_per_minute_per_ip, namespace=_NAMESPACE)
            if smtp.messages_per_minute_per_ip
            else None
        )
        self._per_user: RateLimitItem | None = (
            RateLimitItemPerMinute(smtp.messages_per_minute_per_user, namespace=_NAMESPACE)
            if smtp.messages_per_minute_per_user
            else None
        )
        needed = self._per_ip is not None or self._per_user is not None
        self._limiter = MovingWindowRateLimiter(limit_storage(settings)) if needed else None

    @property
    def enabled(self) -> bool:
        """True when any limit is configured."""
        return self._limiter is not None

    def allow(self, ip: str, user: str | None) -> bool:
        """Count one message from ``ip`` (and ``user``); False when a limit is exceeded.

        If the counters cannot be reached (Redis down), mail is accepted: a broker outage
        must not refuse mail that the spool can keep.
        """
        try:
            return self._allow(ip, user)
        except Exception as exc:
            log.warning("rate limits unavailable, not applied: %s: %s", type(exc).__name__, exc)
            return True

    def _allow(self, ip: str, user: str | None) -> bool:
        if self._limiter is None:
            return True
        if self._per_ip is not None and not self._limiter.hit(self._per_ip, "ip", ip):
            return False
        if user and self._per_user is not None:
            return self._limiter.hit(self._per_user, "user", user.lower())
        return True
