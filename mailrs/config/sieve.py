"""The [sieve] section: the ManageSieve server (RFC 5804); TLS uses the [imap] certificate."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from mailrs.config.fields import Section, parse_hostport, require_positive


@dataclass(frozen=True)
class SieveSettings(Section):
    """The ManageSieve server: where it listens ("" turns it off) and its limits."""

    section: ClassVar[str] = "sieve"

    listen_addr: str = "127.0.0.1:4190"
    timeout_secs: int = 600
    max_line_bytes: int = 8192
    max_script_bytes: int = 65536

    def validate(self) -> None:
        """The listener and the limits."""
        if self.listen_addr:
            parse_hostport(self.listen_addr, "sieve.listen_addr")
        require_positive(
            ("sieve.timeout_secs", self.timeout_secs),
            ("sieve.max_line_bytes", self.max_line_bytes),
            ("sieve.max_script_bytes", self.max_script_bytes),
        )
