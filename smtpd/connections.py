"""Concurrent connection limits: overall and per client IP (421 4.7.0 beyond them)."""

from __future__ import annotations

from collections import Counter


class ConnectionLimiter:
    """Counts open connections; one instance is shared by every listener of a process."""

    def __init__(self, total: int, per_ip: int) -> None:
        self.total_limit = total
        self.per_ip_limit = per_ip
        self.open = 0
        self.by_ip: Counter[str] = Counter()

    def acquire(self, ip: str) -> bool:
        """Count a new connection from ``ip``; False (and nothing counted) when over a limit."""
        if self.open >= self.total_limit or self.by_ip[ip] >= self.per_ip_limit:
            return False
        self.open += 1
        self.by_ip[ip] += 1
        return True

    def release(self, ip: str) -> None:
        """Forget one connection from ``ip``."""
        self.open = max(0, self.open - 1)
        self.by_ip[ip] -= 1
        if self.by_ip[ip] <= 0:
            del self.by_ip[ip]
