"""A short-lived cache of verified credentials, so reconnecting clients skip Argon2.

Like Dovecot's auth cache: after a successful verification the entry
HMAC(process secret, address, password, stored hash) is kept for ``ttl`` seconds; a
login with the same address and password within that time is accepted without a
new Argon2 run. The password itself is never kept, and the key includes the stored
hash, so changing the password (a new hash, with a new salt) makes every old entry
useless at once. Failures are never cached: a wrong password always costs a full
verification. Thread-safe; bounded in size (the oldest entries go first).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import OrderedDict

from mailrs.accounts.passwords import verify_password

DEFAULT_TTL_SECS = 60.0
DEFAULT_MAX_ENTRIES = 10_000


class CredentialCache:
    """Verified (address, password, stored hash) triples, remembered for a short while."""

    def __init__(
        self, ttl: float = DEFAULT_TTL_SECS, max_entries: int = DEFAULT_MAX_ENTRIES
    ) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._secret = secrets.token_bytes(32)  # per process: keys are useless elsewhere
        self._entries: OrderedDict[bytes, float] = OrderedDict()
        self._lock = threading.Lock()

    def _key(self, address: str, stored_hash: str, password: str) -> bytes:
        material = b"\0".join(
            part.encode("utf-8", "surrogatepass")
            for part in (address.lower(), stored_hash, password)
        )
        return hmac.new(self._secret, material, hashlib.sha256).digest()

    def recently_verified(self, address: str, stored_hash: str | None, password: str) -> bool:
        """True if this very password was verified against this hash within the TTL."""
        if stored_hash is None or self.ttl <= 0:
            return False
        key = self._key(address, stored_hash, password)
        now = time.monotonic()
        with self._lock:
            expires = self._entries.get(key)
            if expires is None:
                return False
            if expires <= now:
                del self._entries[key]
                return False
            return True

    def remember(self, address: str, stored_hash: str, password: str) -> None:
        """Record a successful verification."""
        if self.ttl <= 0:
            return
        key = self._key(address, stored_hash, password)
        with self._lock:
            self._entries[key] = time.monotonic() + self.ttl
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def verify(self, address: str, stored_hash: str | None, password: str) -> bool:
        """Check a password (blocking: Argon2 unless cached); a success is remembered."""
        if self.recently_verified(address, stored_hash, password):
            return True
        ok = verify_password(stored_hash, password)
        if ok and stored_hash is not None:
            self.remember(address, stored_hash, password)
        return ok
