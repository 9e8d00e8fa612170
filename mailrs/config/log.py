"""The [log] section: how every service writes its log lines (text or JSON)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from mailrs.config.fields import Section
from mailrs.errors import ConfigError

LOG_FORMATS = ("text", "json")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


@dataclass(frozen=True)
class LogSettings(Section):
    """Log format (``MAILRS_LOG_FORMAT``) and level of every service."""

    section: ClassVar[str] = "log"

    format: str = "text"
    level: str = "INFO"

    def validate(self) -> None:
        """A known format and level."""
        if self.format not in LOG_FORMATS:
            raise ConfigError(f"log.format: must be text or json, got {self.format!r}")
        if self.level.upper() not in LOG_LEVELS:
            raise ConfigError(
                f"log.level: must be one of {', '.join(LOG_LEVELS)}, got {self.level!r}"
            )
