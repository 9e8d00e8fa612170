"""The [auth] section: throttling of failed logins."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from mailrs.config.fields import Section
from mailrs.errors import ConfigError


@dataclass(frozen=True)
class AuthSettings(Section):
    """Throttling of failed logins (SMTP AUTH, IMAP, web), per account and per client IP."""

    section: ClassVar[str] = "auth"

    max_failures_per_account: int = 5
    max_failures_per_ip: int = 20
    failure_window_secs: int = 300
    base_delay_secs: float = 0.5
    max_delay_secs: float = 8.0
    account_slowdown_ips: int = 10  # failures from this many distinct IPs slow the account

    def validate(self) -> None:
        """Positive failure limits and window, delays not negative."""
        if self.max_failures_per_account <= 0 or self.max_failures_per_ip <= 0:
            raise ConfigError("auth.max_failures_per_account/per_ip: must be greater than 0")
        if self.failure_window_secs <= 0 or self.base_delay_secs < 0 or self.max_delay_secs < 0:
            raise ConfigError("auth: the window must be positive and delays not negative")
        if self.account_slowdown_ips <= 0:
            raise ConfigError("auth.account_slowdown_ips: must be greater than 0")
