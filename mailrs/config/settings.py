"""``Settings``: every section of one installation, frozen, with paths made absolute."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mailrs.config.api import ApiSettings
from mailrs.config.assistant import AssistantSettings
from mailrs.config.auth import AuthSettings
from mailrs.config.broker import CelerySettings
from mailrs.config.fields import Section
from mailrs.config.imap import ImapSettings
from mailrs.config.log import LogSettings
from mailrs.config.metrics import MetricsSettings
from mailrs.config.public import PublicSettings
from mailrs.config.relay import RelaySettings
from mailrs.config.sieve import SieveSettings
from mailrs.config.smtp import SmtpSettings
from mailrs.config.spam import SpamSettings
from mailrs.config.storage import DatabaseSettings, StorageSettings
from mailrs.errors import ConfigError

MODES = ("development", "production")


@dataclass(frozen=True)
class Settings:
    """All settings of one mailrs installation, with paths made absolute."""

    mode: str = "development"
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    imap: ImapSettings = field(default_factory=ImapSettings)
    api: ApiSettings = field(default_factory=ApiSettings)
    storage: StorageSettings = field(default_factory=StorageSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    celery: CelerySettings = field(default_factory=CelerySettings)
    auth: AuthSettings = field(default_factory=AuthSettings)
    relay: RelaySettings = field(default_factory=RelaySettings)
    spam: SpamSettings = field(default_factory=SpamSettings)
    assistant: AssistantSettings = field(default_factory=AssistantSettings)
    public: PublicSettings = field(default_factory=PublicSettings)
    log: LogSettings = field(default_factory=LogSettings)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)
    sieve: SieveSettings = field(default_factory=SieveSettings)
    source: str = ""

    @property
    def data_dir(self) -> Path:
        """The data directory (absolute)."""
        return Path(self.storage.data_dir)

    @property
    def maildir_path(self) -> Path:
        """The base of every user's Maildir."""
        return Path(self.storage.maildir_path)

    @property
    def spool_path(self) -> Path:
        """The durable spool of accepted messages."""
        return Path(self.storage.spool_path)

    @property
    def database_url(self) -> str:
        """The SQLAlchemy URL of the central database."""
        return self.database.url

    @property
    def broker_url(self) -> str:
        """The Celery broker URL, ``filesystem://`` for the embedded broker."""
        return self.celery.broker_url or "filesystem://"

    @property
    def embedded_broker(self) -> bool:
        """True when no broker server is configured."""
        return not self.celery.broker_url

    @property
    def broker_dir(self) -> Path:
        """The folder of the embedded broker."""
        return self.data_dir / "broker"

    @property
    def metrics_dir(self) -> Path:
        """Where every process writes its Prometheus metrics (multiprocess mode)."""
        return self.data_dir / "metrics"

    @property
    def is_development(self) -> bool:
        """True in development mode."""
        return self.mode == "development"

    def sections(self) -> list[Section]:
        """Every section, in the order of ``SECTIONS``."""
        return [getattr(self, name) for name in SECTIONS]

    def validate(self) -> None:
        """Check the mode, then let every section check itself."""
        if self.mode not in MODES:
            raise ConfigError(f"mode: must be one of {', '.join(MODES)}, got {self.mode!r}")
        for section in self.sections():
            section.validate()

    def resolved(self, base: Path) -> Settings:
        """Paths made absolute against ``base`` (the config file's folder) and defaults filled."""
        changes: dict[str, Any] = {}
        for name in SECTIONS:
            changes[name] = getattr(self, name).resolved(base)
        data_dir = Path(self.storage.resolved(base).data_dir)
        changes["database"] = self.database.with_default(data_dir)
        return dataclasses.replace(self, **changes)


SECTIONS: dict[str, type[Section]] = {
    "smtp": SmtpSettings,
    "imap": ImapSettings,
    "api": ApiSettings,
    "storage": StorageSettings,
    "database": DatabaseSettings,
    "celery": CelerySettings,
    "auth": AuthSettings,
    "relay": RelaySettings,
    "spam": SpamSettings,
    "assistant": AssistantSettings,
    "public": PublicSettings,
    "log": LogSettings,
    "metrics": MetricsSettings,
    "sieve": SieveSettings,
}


def check_production_secrets(settings: Settings) -> None:
    """Refuse a production start with the development JWT secret."""
    if not settings.is_development:
        settings.api.check_production_secret()
