"""The [api] section: the web UI and its JSON API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from mailrs.config.fields import Section, parse_hostport, require_positive
from mailrs.errors import ConfigError

DEV_JWT_SECRET = "dev-insecure-jwt-secret-change-me"


@dataclass(frozen=True)
class ApiSettings(Section):
    """The web UI and its JSON API."""

    section: ClassVar[str] = "api"

    listen_addr: str = "127.0.0.1:8080"
    jwt_secret: str = DEV_JWT_SECRET
    token_expiry_hours: int = 24
    cors_origins: tuple[str, ...] = ()
    page_size: int = 20
    max_upload_bytes: int = 25 * 1024 * 1024

    def validate(self) -> None:
        """Listener, token lifetime, secret and page limits."""
        parse_hostport(self.listen_addr, "api.listen_addr")
        require_positive(("api.token_expiry_hours", self.token_expiry_hours))
        if not self.jwt_secret:
            raise ConfigError("api.jwt_secret: must not be empty")
        if self.page_size <= 0 or self.max_upload_bytes <= 0:
            raise ConfigError("api.page_size/max_upload_bytes: must be greater than 0")

    def check_production_secret(self) -> None:
        """Refuse the development JWT secret or a short one."""
        if self.jwt_secret == DEV_JWT_SECRET or len(self.jwt_secret) < 32:
            raise ConfigError(
                "api.jwt_secret: set a secret of 32 or more characters (MAILRS_API_JWT_SECRET) "
                "outside development mode"
            )
