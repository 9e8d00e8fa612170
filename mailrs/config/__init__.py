"""Settings: a TOML file, overridden by MAILRS_<SECTION>_<KEY> variables, frozen once loaded.

Every process loads its settings once at start-up and passes the frozen object on;
nothing reads the environment later. A bad file stops start-up with one line that
names the offending key (``ConfigError``). Each section is a frozen dataclass in a
module of its own that converts (``from_mapping``) and checks (``validate``) itself;
``loading`` reads the file and the environment, ``settings`` holds them together.
"""

from mailrs.config.api import DEV_JWT_SECRET, ApiSettings
from mailrs.config.assistant import AssistantSettings
from mailrs.config.auth import AuthSettings
from mailrs.config.broker import CelerySettings
from mailrs.config.fields import parse_hostport
from mailrs.config.imap import ImapSettings
from mailrs.config.loading import (
    DEFAULT_CONFIG_NAME,
    default_config_path,
    dev_config_template,
    load_settings,
    require_settings,
    resolve_config_path,
    write_dev_config,
)
from mailrs.config.log import LogSettings
from mailrs.config.public import PublicSettings
from mailrs.config.relay import RelaySettings, dns_server_address
from mailrs.config.settings import MODES, SECTIONS, Settings, check_production_secrets
from mailrs.config.sieve import SieveSettings
from mailrs.config.smtp import SmtpSettings
from mailrs.config.spam import SpamSettings
from mailrs.config.storage import DatabaseSettings, StorageSettings
from mailrs.errors import ConfigError

__all__ = [
    "DEFAULT_CONFIG_NAME",
    "DEV_JWT_SECRET",
    "MODES",
    "SECTIONS",
    "ApiSettings",
    "AssistantSettings",
    "AuthSettings",
    "CelerySettings",
    "ConfigError",
    "DatabaseSettings",
    "ImapSettings",
    "LogSettings",
    "PublicSettings",
    "RelaySettings",
    "Settings",
    "SieveSettings",
    "SmtpSettings",
    "SpamSettings",
    "StorageSettings",
    "check_production_secrets",
    "default_config_path",
    "dev_config_template",
    "dns_server_address",
    "load_settings",
    "parse_hostport",
    "require_settings",
    "resolve_config_path",
    "write_dev_config",
]
