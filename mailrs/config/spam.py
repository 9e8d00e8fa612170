"""The [spam] section: which scorer runs and what its verdicts do."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import ClassVar

from mailrs.config.fields import Section
from mailrs.errors import ConfigError


@dataclass(frozen=True)
class SpamSettings(Section):
    """The spam hook: which scorer runs and what its verdicts do."""

    section: ClassVar[str] = "spam"

    filter: str = "builtin"
    threshold: float = 5.0
    junk_folder: bool = True
    rspamd_url: str = "http://127.0.0.1:11333"
    rspamd_controller_url: str = "http://127.0.0.1:11334"  # where moves to/from Junk teach it
    rspamd_password: str = ""  # the controller's password (its "enable_password"), if any
    timeout_secs: float = 15.0
    check_sender_auth: bool = True
    trusted_networks: tuple[str, ...] = ("127.0.0.0/8", "::1/128")
    dmarc_enforce: bool = False  # refuse p=reject failures with 550 5.7.1 at the end of DATA
    # ARC sealers (d= of the newest ARC-Seal) whose valid chain overrides a DMARC failure
    arc_trusted_sealers: tuple[str, ...] = ()
    dmarc_send_reports: bool = False  # send daily aggregate reports to the domains' rua
    dmarc_report_from: str = ""  # their sender; default noreply-dmarc@<first local domain>

    def validate(self) -> None:
        """A filter name, a timeout, rspamd's URL and the trusted networks.

        Whether the filter exists is checked when it is loaded.
        """
        if not self.filter:
            raise ConfigError("spam.filter: must name a filter (builtin, rspamd or none)")
        if self.timeout_secs <= 0:
            raise ConfigError(f"spam.timeout_secs: must be greater than 0, got {self.timeout_secs}")
        for name in ("rspamd_url", "rspamd_controller_url"):
            if not getattr(self, name).startswith(("http://", "https://")):
                url = getattr(self, name)
                raise ConfigError(f"spam.{name}: expected an http(s) URL, got {url!r}")
        for network in self.trusted_networks:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError:
                raise ConfigError(f"spam.trusted_networks: not a network: {network!r}") from None
