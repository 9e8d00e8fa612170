"""The [smtp] section: the SMTP receiver's listeners, TLS, AUTH and limits."""

from __future__ import annotations

import dataclasses
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Self

from mailrs.config.fields import (
    Section,
    absolute,
    parse_hostport,
    require_not_negative,
    require_positive,
)
from mailrs.errors import ConfigError

SENDER_POLICIES = ("own", "domain", "any")
MAX_PROCESSES = 64


@dataclass(frozen=True)
class SmtpSettings(Section):
    """The SMTP receiver: listeners, TLS, AUTH and limits."""

    section: ClassVar[str] = "smtp"

    listen_addr: str = "127.0.0.1:2525"
    submission_addr: str = "127.0.0.1:2587"
    submissions_addr: str = ""
    enable_tls: bool = False
    tls_cert_path: str = ""
    tls_key_path: str = ""
    enable_auth: bool = True
    require_auth: bool = False
    allow_insecure_auth: bool = False
    max_message_size: int = 25 * 1024 * 1024
    max_recipients: int = 100
    timeout_secs: int = 300
    data_timeout_secs: int = 600
    max_connections: int = 200
    max_connections_per_ip: int = 20
    messages_per_minute_per_ip: int = 120
    messages_per_minute_per_user: int = 120
    local_domains: tuple[str, ...] = ("localhost",)
    hostname: str = ""
    sender_policy: str = "own"
    max_pipeline_backlog: int = 10000
    publish_wait_ms: int = 100
    data_deadline_secs: int = 900  # the whole DATA phase must end within this
    processes: int = 1  # smtpd processes sharing the listeners (mailrs/prefork.py, smtpd/server.py)

    def validate(self) -> None:
        """Listeners, limits, local domains, TLS and the sender policy."""
        parse_hostport(self.listen_addr, "smtp.listen_addr")
        if self.submission_addr:
            parse_hostport(self.submission_addr, "smtp.submission_addr")
        if self.submissions_addr:
            parse_hostport(self.submissions_addr, "smtp.submissions_addr")
        require_positive(
            ("smtp.max_message_size", self.max_message_size),
            ("smtp.timeout_secs", self.timeout_secs),
            ("smtp.data_timeout_secs", self.data_timeout_secs),
            ("smtp.max_recipients", self.max_recipients),
            ("smtp.max_connections", self.max_connections),
            ("smtp.max_connections_per_ip", self.max_connections_per_ip),
            ("smtp.data_deadline_secs", self.data_deadline_secs),
            ("smtp.processes", self.processes),
        )
        if self.processes > MAX_PROCESSES:
            raise ConfigError(f"smtp.processes: at most {MAX_PROCESSES}, got {self.processes}")
        require_not_negative(
            ("smtp.messages_per_minute_per_ip", self.messages_per_minute_per_ip),
            ("smtp.messages_per_minute_per_user", self.messages_per_minute_per_user),
            ("smtp.max_pipeline_backlog", self.max_pipeline_backlog),
            ("smtp.publish_wait_ms", self.publish_wait_ms),
        )
        if not self.local_domains:
            raise ConfigError("smtp.local_domains: at least one local domain is required")
        for domain in self.local_domains:
            if not domain or "@" in domain or " " in domain:
                raise ConfigError(f"smtp.local_domains: bad domain {domain!r}")
        if self.enable_tls and not (self.tls_cert_path and self.tls_key_path):
            raise ConfigError("smtp.enable_tls: needs smtp.tls_cert_path and smtp.tls_key_path")
        if self.submissions_addr and not self.enable_tls:
            raise ConfigError("smtp.submissions_addr: implicit TLS needs smtp.enable_tls = true")
        if self.sender_policy not in SENDER_POLICIES:
            raise ConfigError(
                f"smtp.sender_policy: must be own, domain or any, got {self.sender_policy!r}"
            )
        if not _printable_name(self.hostname or "x"):
            raise ConfigError(f"smtp.hostname: not a host name: {self.hostname!r}")

    def resolved(self, base: Path) -> Self:
        """Absolute TLS paths, normalised local domains and a host name (the FQDN if unset)."""
        return dataclasses.replace(
            self,
            tls_cert_path=absolute(base, self.tls_cert_path),
            tls_key_path=absolute(base, self.tls_key_path),
            local_domains=tuple(d.lower().rstrip(".") for d in self.local_domains),
            hostname=self.hostname or socket.getfqdn() or "localhost",
        )


def _printable_name(name: str) -> bool:
    """A host name we may put in a greeting or a header: visible ASCII, no spaces."""
    return 0 < len(name) <= 255 and all("!" <= ch <= "~" for ch in name)
