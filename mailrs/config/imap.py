"""The [imap] section: the IMAP server's listeners, TLS, plaintext policy and limits."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Self

from mailrs.config.fields import Section, absolute, parse_hostport, require_positive
from mailrs.errors import ConfigError

PLAINTEXT_AUTH = ("never", "loopback", "always")
MAX_PROCESSES = 64


@dataclass(frozen=True)
class ImapSettings(Section):
    """The IMAP server."""

    section: ClassVar[str] = "imap"

    listen_addr: str = "127.0.0.1:1993"
    timeout_secs: int = 1800
    tls_listen_addr: str = ""  # implicit TLS (IMAPS), e.g. "127.0.0.1:1994"
    tls_cert_path: str = ""
    tls_key_path: str = ""
    plaintext_auth: str = "loopback"  # never | loopback | always: passwords without TLS
    max_line_bytes: int = 65536
    max_literal_bytes: int = 50 * 1024 * 1024
    max_connections: int = 4000  # in all, over every imapd process
    max_connections_per_ip: int = 50
    max_connections_per_user: int = 50
    literal_deadline_secs: int = 120  # one literal within this plus 1 s per 64 KiB
    processes: int = 1  # imapd processes sharing the listeners (imapd.server.serve_processes)

    def validate(self) -> None:
        """Listeners, TLS pair, plaintext policy and limits."""
        parse_hostport(self.listen_addr, "imap.listen_addr")
        require_positive(("imap.timeout_secs", self.timeout_secs))
        if self.tls_listen_addr:
            parse_hostport(self.tls_listen_addr, "imap.tls_listen_addr")
        if (self.tls_cert_path or self.tls_listen_addr) and not (
            self.tls_cert_path and self.tls_key_path
        ):
            raise ConfigError(
                "imap.tls_cert_path: TLS needs imap.tls_cert_path and imap.tls_key_path"
            )
        if self.plaintext_auth not in PLAINTEXT_AUTH:
            raise ConfigError(
                "imap.plaintext_auth: must be never, loopback or always, "
                f"got {self.plaintext_auth!r}"
            )
        require_positive(
            ("imap.max_line_bytes", self.max_line_bytes),
            ("imap.max_literal_bytes", self.max_literal_bytes),
            ("imap.max_connections", self.max_connections),
            ("imap.max_connections_per_ip", self.max_connections_per_ip),
            ("imap.max_connections_per_user", self.max_connections_per_user),
            ("imap.literal_deadline_secs", self.literal_deadline_secs),
            ("imap.processes", self.processes),
        )
        if self.processes > MAX_PROCESSES:
            raise ConfigError(f"imap.processes: at most {MAX_PROCESSES}, got {self.processes}")
        if self.max_line_bytes < 1024:
            raise ConfigError("imap.max_line_bytes: must be at least 1024")

    def resolved(self, base: Path) -> Self:
        """The TLS pair's paths made absolute, as smtpd's are (imapd may run elsewhere)."""
        return dataclasses.replace(
            self,
            tls_cert_path=absolute(base, self.tls_cert_path),
            tls_key_path=absolute(base, self.tls_key_path),
        )
