"""The [relay] section: outbound delivery through MX lookup or a smarthost."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import ClassVar

from mailrs.config.fields import Section, parse_hostport, require_positive
from mailrs.errors import ConfigError

SMARTHOST_TLS = ("none", "starttls", "require", "implicit")


@dataclass(frozen=True)
class RelaySettings(Section):
    """Outbound delivery: MX lookup, smarthost, retries and bounces."""

    section: ClassVar[str] = "relay"

    smtp_port: int = 25
    dns_servers: tuple[str, ...] = ()
    dns_timeout_secs: float = 10.0
    connect_timeout_secs: float = 30.0
    command_timeout_secs: float = 300.0
    helo_name: str = ""
    smarthost: str = ""
    smarthost_tls: str = "starttls"
    smarthost_username: str = ""
    smarthost_password: str = ""
    retry_base_secs: float = 300.0
    retry_factor: float = 2.0
    retry_max_secs: float = 4 * 3600.0
    retry_jitter: float = 0.2
    max_lifetime_secs: float = 5 * 86400.0
    delay_warning_secs: float = 4 * 3600.0
    dkim_selector: str = ""
    dkim_key_path: str = ""
    tls_ca_file: str = ""  # more trusted roots for verified TLS (MTA-STS, REQUIRETLS)
    mta_sts: bool = True  # look up and apply recipient domains' MTA-STS policies
    mta_sts_https_port: int = 443  # where mta-sts.<domain> serves its policy

    def validate(self) -> None:
        """Port, resolvers, smarthost, timeouts, the retry schedule and DKIM."""
        if not 0 < self.mta_sts_https_port <= 65535:
            raise ConfigError(
                f"relay.mta_sts_https_port: out of range 1-65535, got {self.mta_sts_https_port}"
            )
        if not 0 < self.smtp_port <= 65535:
            raise ConfigError(f"relay.smtp_port: out of range 1-65535, got {self.smtp_port}")
        for server in self.dns_servers:
            dns_server_address(server)
        if self.smarthost:
            parse_hostport(self.smarthost, "relay.smarthost")
        if self.smarthost_tls not in SMARTHOST_TLS:
            raise ConfigError(
                "relay.smarthost_tls: must be none, starttls, require or implicit, "
                f"got {self.smarthost_tls!r}"
            )
        if bool(self.smarthost_username) != bool(self.smarthost_password):
            raise ConfigError("relay.smarthost_username/password: set both or neither")
        require_positive(
            ("relay.dns_timeout_secs", self.dns_timeout_secs),
            ("relay.connect_timeout_secs", self.connect_timeout_secs),
            ("relay.command_timeout_secs", self.command_timeout_secs),
            ("relay.retry_base_secs", self.retry_base_secs),
            ("relay.retry_max_secs", self.retry_max_secs),
            ("relay.max_lifetime_secs", self.max_lifetime_secs),
            ("relay.delay_warning_secs", self.delay_warning_secs),
        )
        if self.retry_factor < 1:
            raise ConfigError(f"relay.retry_factor: must be at least 1, got {self.retry_factor}")
        if not 0 <= self.retry_jitter < 1:
            raise ConfigError(f"relay.retry_jitter: must be in [0, 1), got {self.retry_jitter}")
        if bool(self.dkim_selector) != bool(self.dkim_key_path):
            raise ConfigError("relay.dkim_selector/dkim_key_path: set both or neither")


def dns_server_address(value: str) -> tuple[str, int]:
    """``(ip, port)`` of a resolver given as ``IP``, ``IP:port`` or ``[v6]:port``."""
    host, port = value, 53
    if value.startswith("[") or value.count(":") == 1:
        host, port = parse_hostport(value, "relay.dns_servers")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ConfigError(f"relay.dns_servers: not an IP address: {value!r}") from None
    return host, port
