"""Login throttling shared by SMTP AUTH, IMAP and the web: per account and per client IP.

Failed logins are counted in a moving window with the ``limits`` library. Each failure
makes the next answer wait longer (``base_delay_secs`` doubling up to ``max_delay_secs``);
past ``max_failures_per_account`` or ``max_failures_per_ip`` in the window, logins are
refused without checking the password until the window moves on.

The counters live in Redis when the broker is Redis (so every process and machine
shares them) and in process memory otherwise. Calls may touch the network: async
callers run them with ``asyncio.to_thread`` and sleep with ``asyncio.sleep``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from limits import RateLimitItem, RateLimitItemPerSecond
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from mailrs.config import Settings

_NAMESPACE = "mailrs-login"
_storages: dict[str, Storage] = {}
_storages_lock = threading.Lock()


def limit_storage(settings: Settings) -> Storage:
    """The ``limits`` storage for this installation: Redis when the broker is, else memory."""
    url = settings.celery.broker_url
    key = url if url.startswith(("redis://", "rediss://")) else "memory://"
    with _storages_lock:
        if key not in _storages:
            storage = MemoryStorage() if key == "memory://" else storage_from_string(key)
            if not isinstance(storage, Storage):
                raise TypeError(f"not a synchronous limits storage: {key}")
            _storages[key] = storage
        return _storages[key]


@dataclass(frozen=True)
class ThrottleDecision:
    """What to do with a login attempt before the password is checked."""

    blocked: bool
    delay: float
    retry_after: float = 0.0


class LoginThrottle:
    """Counts failed logins per account and per IP and says how long to hold the answer."""

    def __init__(self, settings: Settings, storage: Storage | None = None) -> None:
        cfg = settings.auth
        self._cfg = cfg
        self._limiter = MovingWindowRateLimiter(storage or limit_storage(settings))
        window = max(1, cfg.failure_window_secs)
        self._per_account: RateLimitItem = RateLimitItemPerSecond(
            max(1, cfg.max_failures_per_account), window, namespace=_NAMESPACE
        )
        self._per_ip: RateLimitItem = RateLimitItemPerSecond(
            max(1, cfg.max_failures_per_ip), window, namespace=_NAMESPACE
        )

    def check(self, account: str, ip: str) -> ThrottleDecision:
        """Whether this attempt is refused outright, and how long to wait before answering."""
        account_left, account_reset = self._stats(self._per_account, "account", account)
        ip_left, ip_reset = self._stats(self._per_ip, "ip", ip)
        # An IP's failures weigh less than an account's: many users may share one address.
        ip_failures = (self._per_ip.amount - ip_left) * self._per_account.amount
        failures = max(
            self._per_account.amount - account_left,
            ip_failures // self._per_ip.amount,
        )
        delay = self._delay(failures)
        if account_left <= 0 or ip_left <= 0:
            resets = [
                account_reset if account_left <= 0 else 0.0,
                ip_reset if ip_left <= 0 else 0.0,
            ]
            reset = max(resets)
            return ThrottleDecision(True, delay, max(0.0, reset))
        return ThrottleDecision(False, delay)

    def failed(self, account: str, ip: str) -> None:
        """Count one failed login for this account and this IP."""
        self._limiter.hit(self._per_account, "account", _norm(account))
        self._limiter.hit(self._per_ip, "ip", ip)

    def succeeded(self, account: str, ip: str) -> None:
        """Forget the account's failures after a good login (the IP's count stays)."""
        self._limiter.clear(self._per_account, "account", _norm(account))

    def _stats(self, item: RateLimitItem, kind: str, who: str) -> tuple[int, float]:
        ident = _norm(who) if kind == "account" else who
        stats = self._limiter.get_window_stats(item, kind, ident)
        return stats.remaining, stats.reset_time - time.time()

    def _delay(self, failures: int) -> float:
        if failures <= 0:
            return 0.0
        delay = self._cfg.base_delay_secs * (2 ** (failures - 1))
        return float(min(self._cfg.max_delay_secs, delay))


def _norm(account: str) -> str:
    return account.strip().lower()
