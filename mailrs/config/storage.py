"""The [storage] and [database] sections: where mail and the central database live."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Self

from mailrs.config.fields import Section
from mailrs.errors import ConfigError


@dataclass(frozen=True)
class StorageSettings(Section):
    """Where data lives; empty paths are derived from ``data_dir``."""

    section: ClassVar[str] = "storage"

    data_dir: str = "data"
    maildir_path: str = ""
    spool_path: str = ""

    def resolved(self, base: Path) -> Self:
        """Every path absolute; the Maildir base and the spool default to folders of data_dir."""
        data_dir = (base / self.data_dir).resolve()
        return type(self)(
            data_dir=str(data_dir),
            maildir_path=str((base / (self.maildir_path or data_dir / "maildir")).resolve()),
            spool_path=str((base / (self.spool_path or data_dir / "spool")).resolve()),
        )


@dataclass(frozen=True)
class DatabaseSettings(Section):
    """The central database; empty means SQLite under ``data_dir``."""

    section: ClassVar[str] = "database"

    url: str = ""

    def validate(self) -> None:
        """A URL whose dialect an installed driver knows."""
        if not self.url:
            return
        if "://" not in self.url:
            raise ConfigError(f"database.url: expected a URL, got {self.url!r}")
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError, NoSuchModuleError

        try:
            make_url(self.url).get_dialect()
        except (ArgumentError, NoSuchModuleError, ValueError) as exc:
            raise ConfigError(f"database.url: {exc}") from None

    def with_default(self, data_dir: Path) -> Self:
        """The section with an empty URL replaced by SQLite in ``data_dir``."""
        return type(self)(url=self.url or f"sqlite:///{data_dir / 'mailrs.db'}")
