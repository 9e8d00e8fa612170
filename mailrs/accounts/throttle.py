"""Login throttling shared by SMTP AUTH, IMAP and the web: per client IP and per account+IP.

``LoginThrottle.begin`` counts the attempt atomically *before* the password is checked
(``mailrs.accounts.counters``: the database on the embedded default, Redis when
configured, so smtpd, imapd and web share one count). Past ``max_failures_per_account``
attempts for one account from one IP, or ``max_failures_per_ip`` from one IP, in the
window, the attempt is refused without checking the password: 200 parallel guesses get
at most that many real password checks. A good login gives its attempt back.

An account is never locked as a whole, so guesses from elsewhere cannot lock the owner
out from the owner's address; when failures for one account come from
``account_slowdown_ips`` or more distinct IPs, every attempt on it is slowed down.

``limit_storage`` (the ``limits`` storage smtpd's message rates use) also lives here.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mailrs.accounts.counters import CounterStore, counter_store
from mailrs.config import Settings

if TYPE_CHECKING:  # ``limits`` (~10 MiB) is loaded by smtpd's rates only, not by imapd or web
    from limits.storage import Storage

_storages: dict[str, Storage] = {}
_storages_lock = threading.Lock()


def limit_storage(settings: Settings) -> Storage:
    """The ``limits`` storage for this installation: Redis when the broker is, else memory."""
    url = settings.celery.broker_url
    from limits.storage import MemoryStorage, Storage, storage_from_string

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
    """What to do with a counted login attempt before the password is checked."""

    blocked: bool
    delay: float
    retry_after: float = 0.0
    attempt: int = 0  # this attempt's number for the account from this IP in the window


class LoginThrottle:
    """Counts login attempts per IP and per account+IP, before the password is checked."""

    def __init__(self, settings: Settings, store: CounterStore | None = None) -> None:
        self._cfg = settings.auth
        self._store = store or counter_store(settings)
        self._window = max(1, self._cfg.failure_window_secs)

    def begin(self, account: str, ip: str) -> ThrottleDecision:
        """Count this attempt; blocked means: refuse it without checking the password."""
        account = _norm(account)
        per_pair, pair_reset = self._store.incr(_pair_key(account, ip), self._window)
        per_ip, ip_reset = self._store.incr(_ip_key(ip), self._window)
        spread = self._store.peek(_spread_key(account))
        failures = per_pair - 1
        slowdown = max(0, spread - max(1, self._cfg.account_slowdown_ips) + 1)
        delay = max(self._delay(failures), self._delay(slowdown))
        over_pair = per_pair > max(1, self._cfg.max_failures_per_account)
        over_ip = per_ip > max(1, self._cfg.max_failures_per_ip)
        if over_pair or over_ip:
            reset = max(pair_reset if over_pair else 0.0, ip_reset if over_ip else 0.0)
            return ThrottleDecision(True, min(delay, 1.0), reset, per_pair)
        return ThrottleDecision(False, delay, 0.0, per_pair)

    def failed(self, account: str, ip: str, decision: ThrottleDecision) -> None:
        """Note a wrong password: the first from this IP adds to the account's IP spread."""
        if decision.attempt == 1:
            self._store.incr(_spread_key(_norm(account)), self._window)

    def succeeded(self, account: str, ip: str) -> None:
        """A good login: forget the account's count from this IP and give the IP's back."""
        self._store.clear(_pair_key(_norm(account), ip))
        self._store.decr(_ip_key(ip))

    def _delay(self, failures: int) -> float:
        if failures <= 0:
            return 0.0
        delay = self._cfg.base_delay_secs * (2 ** min(failures - 1, 16))
        return float(min(self._cfg.max_delay_secs, delay))


def _norm(account: str) -> str:
    return account.strip().lower()[:254]


def _ip_key(ip: str) -> str:
    return f"ip:{ip[:64]}"


def _pair_key(account: str, ip: str) -> str:
    return f"acct-ip:{account}|{ip[:64]}"


def _spread_key(account: str) -> str:
    return f"acct-ips:{account}"
