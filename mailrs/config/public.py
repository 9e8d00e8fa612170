"""The [public] section: the names and ports the world sees (DNS records, client set-up).

Listen addresses say where a process binds; behind NAT or a proxy the world reaches it
elsewhere. These keys feed the DNS records ``mailrs domain add`` prints, the MTA-STS
policy and the autoconfig, autodiscover and Apple profile answers. Empty host and zero
ports are derived: the host from ``smtp.hostname``, the ports from the listen addresses.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Self

from mailrs.config.fields import Section, absolute
from mailrs.errors import ConfigError

MTA_STS_MODES = ("none", "testing", "enforce")
DMARC_POLICIES = ("none", "quarantine", "reject")


@dataclass(frozen=True)
class PublicSettings(Section):
    """The mail host name, public ports and the DNS policies published for each domain."""

    section: ClassVar[str] = "public"

    mail_host: str = ""
    web_host: str = ""
    smtp_port: int = 25
    imaps_port: int = 0
    submission_port: int = 0
    submissions_port: int = 0
    https_port: int = 443
    mta_sts_mode: str = "testing"
    mta_sts_max_age: int = 604800
    dmarc_policy: str = "quarantine"
    profile_cert_path: str = ""  # signs the Apple profile; else the [imap] TLS pair
    profile_key_path: str = ""

    def validate(self) -> None:
        """Ports in range, names without spaces, known policy words."""
        for key in ("smtp_port", "imaps_port", "submission_port", "submissions_port", "https_port"):
            port = getattr(self, key)
            if not 0 <= port <= 65535:
                raise ConfigError(f"public.{key}: out of range 0-65535, got {port}")
        for key in ("mail_host", "web_host"):
            value = getattr(self, key)
            if value and (" " in value or "/" in value or ":" in value):
                raise ConfigError(f"public.{key}: expected a host name, got {value!r}")
        if self.mta_sts_mode not in MTA_STS_MODES:
            raise ConfigError(
                f"public.mta_sts_mode: must be one of {', '.join(MTA_STS_MODES)}, "
                f"got {self.mta_sts_mode!r}"
            )
        if self.mta_sts_max_age <= 0:
            raise ConfigError("public.mta_sts_max_age: must be greater than 0")
        if bool(self.profile_cert_path) != bool(self.profile_key_path):
            raise ConfigError(
                "public.profile_cert_path: set both profile_cert_path and profile_key_path"
            )
        if self.dmarc_policy not in DMARC_POLICIES:
            raise ConfigError(
                f"public.dmarc_policy: must be one of {', '.join(DMARC_POLICIES)}, "
                f"got {self.dmarc_policy!r}"
            )

    def resolved(self, base: Path) -> Self:
        """The profile signing pair's paths made absolute."""
        return dataclasses.replace(
            self,
            profile_cert_path=absolute(base, self.profile_cert_path),
            profile_key_path=absolute(base, self.profile_key_path),
        )
