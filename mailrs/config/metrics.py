"""The [metrics] section: Prometheus metrics, shared by every process through one folder."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from mailrs.config.fields import Section, parse_hostport


@dataclass(frozen=True)
class MetricsSettings(Section):
    """Every process writes its metrics under ``<data_dir>/metrics`` (prometheus-client's
    multiprocess mode) and the web app serves the sum at ``/metrics``: to loopback clients,
    or to anyone sending ``Authorization: Bearer <token>`` when ``token`` is set.
    ``smtpd_addr`` / ``imapd_addr`` (host:port) also serve that sum from smtpd / imapd."""

    section: ClassVar[str] = "metrics"

    enabled: bool = True
    token: str = ""
    smtpd_addr: str = ""
    imapd_addr: str = ""

    def validate(self) -> None:
        """Addresses, when given, are host:port."""
        for name, value in (("smtpd_addr", self.smtpd_addr), ("imapd_addr", self.imapd_addr)):
            if value:
                parse_hostport(value, f"metrics.{name}")
