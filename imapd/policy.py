"""What the server allows, decided once from the settings: TLS, plaintext logins, limits."""

from __future__ import annotations

import ipaddress
import ssl
from dataclasses import dataclass

from mailrs.accounts.throttle import LoginThrottle

PLAINTEXT_AUTH = ("never", "loopback", "always")


@dataclass(frozen=True)
class ServerPolicy:
    """The server-wide rules every connection follows."""

    tls_context: ssl.SSLContext | None = None
    plaintext_auth: str = "loopback"  # never | loopback | always
    throttle: LoginThrottle | None = None
    max_connections: int = 4000
    max_connections_per_ip: int = 50
    max_connections_per_user: int = 50
    idle_poll_secs: float = 0.5
    idle_safety_poll_secs: float = 5.0  # the look without an event while the feed is up
    max_idle_secs: float = 1800.0

    def login_allowed(self, tls_active: bool, peer_ip: str) -> bool:
        """True when a password may be sent on this connection now."""
        if tls_active or self.plaintext_auth == "always":
            return True
        if self.plaintext_auth == "loopback":
            try:
                return ipaddress.ip_address(peer_ip).is_loopback
            except ValueError:
                return False
        return False
