"""Settings: a TOML file, overridden by MAILRS_<SECTION>_<KEY> variables, frozen once loaded.

Every process loads its settings once at start-up and passes the frozen object on;
nothing reads the environment later. A bad file stops start-up with one line that
names the offending key (``ConfigError``).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import secrets
import socket
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mailrs.errors import ConfigError

DEFAULT_CONFIG_NAME = "mailrs.toml"
DEV_JWT_SECRET = "dev-insecure-jwt-secret-change-me"
MODES = ("development", "production")


@dataclass(frozen=True)
class SmtpSettings:
    """The SMTP receiver: listeners, TLS, AUTH and limits."""

    listen_addr: str = "127.0.0.1:2525"
    submission_addr: str = "127.0.0.1:2587"
    submissions_addr: str = ""
    enable_tls: bool = False
    tls_cert_path: str = ""
    tls_key_path: str = ""
    enable_auth: bool = True
    require_auth: bool = False
    allow_insecure_auth: bool = False
    max_message_size: int = 25 * 1024 * 1024
    max_recipients: int = 100
    timeout_secs: int = 300
    data_timeout_secs: int = 600
    max_connections: int = 200
    max_connections_per_ip: int = 20
    messages_per_minute_per_ip: int = 120
    messages_per_minute_per_user: int = 120
    local_domains: tuple[str, ...] = ("localhost",)
    hostname: str = ""
    sender_policy: str = "own"
    max_pipeline_backlog: int = 10000
    publish_wait_ms: int = 100
    # issue 12: the whole DATA phase must end within this many seconds
    data_deadline_secs: int = 900


@dataclass(frozen=True)
class ImapSettings:
    """The IMAP server."""

    listen_addr: str = "127.0.0.1:1993"
    timeout_secs: int = 1800
    tls_listen_addr: str = ""  # implicit TLS (IMAPS), e.g. "127.0.0.1:1994"
    tls_cert_path: str = ""
    tls_key_path: str = ""
    plaintext_auth: str = "loopback"  # never | loopback | always: passwords without TLS
    max_line_bytes: int = 65536
    max_literal_bytes: int = 50 * 1024 * 1024
    max_connections_per_ip: int = 50
    max_connections_per_user: int = 50
    # issue 12: one literal must arrive within this many seconds plus 1 s per 64 KiB
    literal_deadline_secs: int = 120


@dataclass(frozen=True)
class ApiSettings:
    """The web UI and its JSON API."""

    listen_addr: str = "127.0.0.1:8080"
    jwt_secret: str = DEV_JWT_SECRET
    token_expiry_hours: int = 24
    cors_origins: tuple[str, ...] = ()
    page_size: int = 20
    max_upload_bytes: int = 25 * 1024 * 1024


@dataclass(frozen=True)
class StorageSettings:
    """Where data lives; empty paths are derived from ``data_dir``."""

    data_dir: str = "data"
    maildir_path: str = ""
    spool_path: str = ""


@dataclass(frozen=True)
class DatabaseSettings:
    """The central database; empty means SQLite under ``data_dir``."""

    url: str = ""


@dataclass(frozen=True)
class CelerySettings:
    """The broker; an empty URL means the embedded file broker under ``data_dir``."""

    broker_url: str = ""
    result_backend: str = ""
    sweep_grace_secs: int = 300
    sweep_interval_secs: int = 60
    task_events: bool = True


@dataclass(frozen=True)
class AuthSettings:
    """Throttling of failed logins (SMTP AUTH, IMAP, web), per account and per client IP."""

    max_failures_per_account: int = 5
    max_failures_per_ip: int = 20
    failure_window_secs: int = 300
    base_delay_secs: float = 0.5
    max_delay_secs: float = 8.0
    # issue 12: failures for one account from this many distinct IPs slow every attempt
    account_slowdown_ips: int = 10


@dataclass(frozen=True)
class RelaySettings:
    """Outbound delivery: MX lookup, smarthost, retries and bounces."""

    smtp_port: int = 25
    dns_servers: tuple[str, ...] = ()
    dns_timeout_secs: float = 10.0
    connect_timeout_secs: float = 30.0
    command_timeout_secs: float = 300.0
    helo_name: str = ""
    smarthost: str = ""
    smarthost_tls: str = "starttls"
    smarthost_username: str = ""
    smarthost_password: str = ""
    retry_base_secs: float = 300.0
    retry_factor: float = 2.0
    retry_max_secs: float = 4 * 3600.0
    retry_jitter: float = 0.2
    max_lifetime_secs: float = 5 * 86400.0
    delay_warning_secs: float = 4 * 3600.0
    dkim_selector: str = ""
    dkim_key_path: str = ""


@dataclass(frozen=True)
class SpamSettings:
    """The spam hook: which scorer runs and what its verdicts do."""

    filter: str = "builtin"
    threshold: float = 5.0
    junk_folder: bool = True
    rspamd_url: str = "http://127.0.0.1:11333"
    timeout_secs: float = 15.0
    check_sender_auth: bool = True
    trusted_networks: tuple[str, ...] = ("127.0.0.0/8", "::1/128")


@dataclass(frozen=True)
class AssistantSettings:
    """The chat assistant: the offline engine or an OpenAI-compatible endpoint."""

    engine: str = "offline"
    endpoint: str = ""
    model: str = ""
    api_key: str = ""
    timeout_secs: float = 30.0
    history_limit: int = 50
    max_message_chars: int = 4000


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
    def is_development(self) -> bool:
        """True in development mode."""
        return self.mode == "development"


SECTIONS: dict[str, type] = {
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
}
TOP_LEVEL_KEYS = ("mode",)


def default_config_path() -> Path:
    """The config file used when neither ``--config`` nor MAILRS_CONFIG is given."""
    return Path.cwd() / DEFAULT_CONFIG_NAME


def resolve_config_path(path: str | os.PathLike[str] | None) -> tuple[Path, bool]:
    """Pick the config path; the flag says whether it was chosen explicitly."""
    if path:
        return Path(path), True
    env = os.environ.get("MAILRS_CONFIG")
    if env:
        return Path(env), True
    return default_config_path(), False


def load_settings(
    path: str | os.PathLike[str] | None = None,
    environ: typing.Mapping[str, str] | None = None,
    create_dev: bool = False,
) -> Settings:
    """Load, override from the environment, validate and freeze the settings."""
    environ = os.environ if environ is None else environ
    config_path, explicit = resolve_config_path(path)
    raw: dict[str, Any] = {}
    if config_path.exists():
        raw = _read_toml(config_path)
    elif explicit:
        raise ConfigError(f"config file {config_path} does not exist")
    elif create_dev:
        write_dev_config(config_path)
        raw = _read_toml(config_path)
    _apply_environment(raw, environ)
    base = config_path.parent.resolve() if config_path.exists() else Path.cwd()
    settings = _build(raw, str(config_path) if config_path.exists() else "")
    return _finish(settings, base)


def write_dev_config(path: Path, data_dir: str = "data") -> None:
    """Write a development config with a fresh random JWT secret."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = DEV_CONFIG_TEMPLATE.format(data_dir=data_dir, jwt_secret=secrets.token_urlsafe(32))
    path.write_text(text, encoding="utf-8")


DEV_CONFIG_TEMPLATE = """\
# mailrs development configuration, written on first run.
# Every key can be overridden by MAILRS_<SECTION>_<KEY>, e.g. MAILRS_SMTP_LISTEN_ADDR.
mode = "development"

[smtp]
listen_addr = "127.0.0.1:2525"
submission_addr = "127.0.0.1:2587"
submissions_addr = "127.0.0.1:2465"
# In development mode smtpd creates a missing pair as a self-signed certificate.
enable_tls = true
tls_cert_path = "{data_dir}/tls/cert.pem"
tls_key_path = "{data_dir}/tls/key.pem"
enable_auth = true
require_auth = false
max_message_size = 26214400
timeout_secs = 300
local_domains = ["localhost"]

[imap]
listen_addr = "127.0.0.1:1993"
# Implicit TLS (IMAPS) and STARTTLS with the same development pair as smtpd.
tls_listen_addr = "127.0.0.1:1994"
tls_cert_path = "{data_dir}/tls/cert.pem"
tls_key_path = "{data_dir}/tls/key.pem"
timeout_secs = 1800

[api]
listen_addr = "127.0.0.1:8080"
jwt_secret = "{jwt_secret}"
token_expiry_hours = 24
cors_origins = []

[storage]
data_dir = "{data_dir}"

[database]
# empty: SQLite under data_dir; e.g. "postgresql+psycopg://user@host/db"
url = ""

[celery]
# empty: the embedded broker under data_dir; e.g. "redis://127.0.0.1:6379/0"
broker_url = ""
result_backend = ""
"""


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None


def _apply_environment(raw: dict[str, Any], environ: typing.Mapping[str, str]) -> None:
    """Overlay MAILRS_<SECTION>_<KEY> variables (strings, converted later)."""
    for name, value in environ.items():
        if not name.startswith("MAILRS_") or name == "MAILRS_CONFIG":
            continue
        rest = name[len("MAILRS_") :].lower()
        if rest in TOP_LEVEL_KEYS:
            raw[rest] = _EnvValue(value, name)
            continue
        section, _, key = rest.partition("_")
        if section in SECTIONS and key:
            known = {f.name for f in dataclasses.fields(SECTIONS[section])}
            if key not in known:
                raise ConfigError(f"{name}: unknown key {section}.{key}")
            table = raw.setdefault(section, {})
            if not isinstance(table, dict):
                raise ConfigError(f"[{section}] must be a table")
            table[key] = _EnvValue(value, name)


@dataclass(frozen=True)
class _EnvValue:
    text: str
    variable: str


def _build(raw: dict[str, Any], source: str) -> Settings:
    for key in raw:
        if key not in SECTIONS and key not in TOP_LEVEL_KEYS:
            raise ConfigError(f"unknown key or section {key!r}")
    sections: dict[str, Any] = {}
    for name, cls in SECTIONS.items():
        table = raw.get(name, {})
        if not isinstance(table, dict):
            raise ConfigError(f"[{name}] must be a table")
        sections[name] = _build_section(name, cls, table)
    mode = _convert("mode", str, raw.get("mode", "development"))
    return Settings(mode=mode, source=source, **sections)


def _build_section(section: str, cls: type, table: dict[str, Any]) -> Any:
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    values = {}
    for key, value in table.items():
        if key not in known:
            raise ConfigError(f"{section}.{key}: unknown key")
        values[key] = _convert(f"{section}.{key}", hints[key], value)
    return cls(**values)


def _convert(name: str, hint: Any, value: Any) -> Any:
    where = value.variable if isinstance(value, _EnvValue) else name
    if isinstance(value, _EnvValue):
        value = _from_text(where, hint, value.text)
    if hint is bool:
        if isinstance(value, bool):
            return value
    elif hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif hint is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    elif hint is str:
        if isinstance(value, str):
            return value
    elif (
        typing.get_origin(hint) is tuple
        and isinstance(value, list | tuple)
        and all(isinstance(v, str) for v in value)
    ):
        return tuple(value)
    raise ConfigError(f"{where}: expected {_type_name(hint)}, got {value!r}")


def _from_text(where: str, hint: Any, text: str) -> Any:
    if hint is bool:
        lowered = text.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{where}: expected a boolean, got {text!r}")
    if hint is int:
        try:
            return int(text.strip())
        except ValueError:
            raise ConfigError(f"{where}: expected an integer, got {text!r}") from None
    if hint is float:
        try:
            return float(text.strip())
        except ValueError:
            raise ConfigError(f"{where}: expected a number, got {text!r}") from None
    if typing.get_origin(hint) is tuple:
        return [part.strip() for part in text.split(",") if part.strip()]
    return text


_TYPE_NAMES = {bool: "a boolean", int: "an integer", float: "a number", str: "a string"}


def _type_name(hint: Any) -> str:
    if typing.get_origin(hint) is tuple:
        return "a list of strings"
    return _TYPE_NAMES.get(hint, str(hint))


def parse_hostport(value: str, name: str = "address") -> tuple[str, int]:
    """Split ``host:port`` (``[v6]:port`` for IPv6) and check both parts."""
    host, sep, port_text = value.rpartition(":")
    if not sep or not host:
        raise ConfigError(f"{name}: expected host:port, got {value!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        port = int(port_text)
    except ValueError:
        raise ConfigError(f"{name}: port must be a number, got {value!r}") from None
    if not 0 <= port <= 65535:
        raise ConfigError(f"{name}: port {port} is out of range 0-65535")
    if host != "localhost":
        try:
            ipaddress.ip_address(host)
        except ValueError:
            labels = host.split(".")
            if all(label.isdigit() for label in labels) or not all(
                label and label.replace("-", "").isalnum() and label.isascii() for label in labels
            ):
                raise ConfigError(f"{name}: bad host {host!r}") from None
    return host, port


def _finish(settings: Settings, base: Path) -> Settings:
    """Validate values and make paths absolute relative to the config file."""
    if settings.mode not in MODES:
        raise ConfigError(f"mode: must be one of {', '.join(MODES)}, got {settings.mode!r}")
    smtp, imap, api = settings.smtp, settings.imap, settings.api
    for name, value in (
        ("smtp.listen_addr", smtp.listen_addr),
        ("smtp.submission_addr", smtp.submission_addr),
        ("smtp.submissions_addr", smtp.submissions_addr),
        ("imap.listen_addr", imap.listen_addr),
        ("api.listen_addr", api.listen_addr),
    ):
        if name in ("smtp.submission_addr", "smtp.submissions_addr") and not value:
            continue
        parse_hostport(value, name)
    for name, number in (
        ("smtp.max_message_size", smtp.max_message_size),
        ("smtp.timeout_secs", smtp.timeout_secs),
        ("smtp.data_timeout_secs", smtp.data_timeout_secs),
        ("smtp.max_recipients", smtp.max_recipients),
        ("smtp.max_connections", smtp.max_connections),
        ("smtp.max_connections_per_ip", smtp.max_connections_per_ip),
        ("imap.timeout_secs", imap.timeout_secs),
        ("api.token_expiry_hours", api.token_expiry_hours),
    ):
        if number <= 0:
            raise ConfigError(f"{name}: must be greater than 0, got {number}")
    for name, number in (
        ("celery.sweep_grace_secs", settings.celery.sweep_grace_secs),
        ("celery.sweep_interval_secs", settings.celery.sweep_interval_secs),
        ("smtp.messages_per_minute_per_ip", smtp.messages_per_minute_per_ip),
        ("smtp.messages_per_minute_per_user", smtp.messages_per_minute_per_user),
        ("smtp.max_pipeline_backlog", smtp.max_pipeline_backlog),
        ("smtp.publish_wait_ms", smtp.publish_wait_ms),
    ):
        if number < 0:
            raise ConfigError(f"{name}: must not be negative, got {number}")
    if not smtp.local_domains:
        raise ConfigError("smtp.local_domains: at least one local domain is required")
    for domain in smtp.local_domains:
        if not domain or "@" in domain or " " in domain:
            raise ConfigError(f"smtp.local_domains: bad domain {domain!r}")
    if smtp.enable_tls and not (smtp.tls_cert_path and smtp.tls_key_path):
        raise ConfigError("smtp.enable_tls: needs smtp.tls_cert_path and smtp.tls_key_path")
    if smtp.submissions_addr and not smtp.enable_tls:
        raise ConfigError("smtp.submissions_addr: implicit TLS needs smtp.enable_tls = true")
    if smtp.sender_policy not in ("own", "domain", "any"):
        raise ConfigError(
            f"smtp.sender_policy: must be own, domain or any, got {smtp.sender_policy!r}"
        )
    auth = settings.auth
    if auth.max_failures_per_account <= 0 or auth.max_failures_per_ip <= 0:
        raise ConfigError("auth.max_failures_per_account/per_ip: must be greater than 0")
    if auth.failure_window_secs <= 0 or auth.base_delay_secs < 0 or auth.max_delay_secs < 0:
        raise ConfigError("auth: the window must be positive and delays not negative")
    if not api.jwt_secret:
        raise ConfigError("api.jwt_secret: must not be empty")
    _check_relay(settings.relay)
    _check_spam(settings.spam)
    for network in settings.spam.trusted_networks:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            raise ConfigError(f"spam.trusted_networks: not a network: {network!r}") from None
    if imap.tls_listen_addr:
        parse_hostport(imap.tls_listen_addr, "imap.tls_listen_addr")
    if (imap.tls_cert_path or imap.tls_listen_addr) and not (
        imap.tls_cert_path and imap.tls_key_path
    ):
        raise ConfigError("imap.tls_cert_path: TLS needs imap.tls_cert_path and imap.tls_key_path")
    if imap.plaintext_auth not in ("never", "loopback", "always"):
        raise ConfigError(
            f"imap.plaintext_auth: must be never, loopback or always, got {imap.plaintext_auth!r}"
        )
    for name, number in (
        ("imap.max_line_bytes", imap.max_line_bytes),
        ("imap.max_literal_bytes", imap.max_literal_bytes),
        ("imap.max_connections_per_ip", imap.max_connections_per_ip),
        ("imap.max_connections_per_user", imap.max_connections_per_user),
    ):
        if number <= 0:
            raise ConfigError(f"{name}: must be greater than 0, got {number}")
    if imap.max_line_bytes < 1024:
        raise ConfigError("imap.max_line_bytes: must be at least 1024")
    if api.page_size <= 0 or api.max_upload_bytes <= 0:
        raise ConfigError("api.page_size/max_upload_bytes: must be greater than 0")
    assistant = settings.assistant
    if assistant.engine not in ("offline", "openai"):
        raise ConfigError(f"assistant.engine: must be offline or openai, got {assistant.engine!r}")
    if assistant.engine == "openai" and not assistant.endpoint.startswith(("http://", "https://")):
        raise ConfigError("assistant.endpoint: an http(s) URL is needed for engine = openai")
    if assistant.timeout_secs <= 0 or assistant.history_limit < 0:
        raise ConfigError("assistant.timeout_secs/history_limit: must be positive")
    if assistant.max_message_chars <= 0:
        raise ConfigError("assistant.max_message_chars: must be greater than 0")
    for url_name, url in (
        ("celery.broker_url", settings.celery.broker_url),
        ("celery.result_backend", settings.celery.result_backend),
        ("database.url", settings.database.url),
    ):
        if url and "://" not in url:
            raise ConfigError(f"{url_name}: expected a URL, got {url!r}")
    _check_urls(settings)
    if not _printable_name(smtp.hostname or "x"):
        raise ConfigError(f"smtp.hostname: not a host name: {smtp.hostname!r}")

    data_dir = (base / settings.storage.data_dir).resolve()
    storage = StorageSettings(
        data_dir=str(data_dir),
        maildir_path=str(
            (base / (settings.storage.maildir_path or data_dir / "maildir")).resolve()
        ),
        spool_path=str((base / (settings.storage.spool_path or data_dir / "spool")).resolve()),
    )
    database = DatabaseSettings(
        url=settings.database.url or f"sqlite:///{data_dir / 'mailrs.db.engine'}"
    )
    smtp = dataclasses.replace(
        smtp,
        tls_cert_path=str((base / smtp.tls_cert_path).resolve()) if smtp.tls_cert_path else "",
        tls_key_path=str((base / smtp.tls_key_path).resolve()) if smtp.tls_key_path else "",
        local_domains=tuple(d.lower().rstrip(".") for d in smtp.local_domains),
        hostname=smtp.hostname or _default_hostname(),
    )
    return dataclasses.replace(settings, storage=storage, database=database, smtp=smtp)


def dns_server_address(value: str) -> tuple[str, int]:
    """``(ip, port)`` of a resolver given as ``IP``, ``IP:port`` or ``[v6]:port``."""
    host, port = value, 53
    if value.startswith("[") or value.count(":") == 1:
        host, port = parse_hostport(value, "relay.dns_servers")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ConfigError(f"relay.dns_servers: not an IP address: {value!r}") from None
    return host, port


def _check_relay(relay: RelaySettings) -> None:
    """Validate the [relay] section."""
    if not 0 < relay.smtp_port <= 65535:
        raise ConfigError(f"relay.smtp_port: out of range 1-65535, got {relay.smtp_port}")
    for server in relay.dns_servers:
        dns_server_address(server)
    if relay.smarthost:
        parse_hostport(relay.smarthost, "relay.smarthost")
    if relay.smarthost_tls not in ("none", "starttls", "require", "implicit"):
        raise ConfigError(
            "relay.smarthost_tls: must be none, starttls, require or implicit, "
            f"got {relay.smarthost_tls!r}"
        )
    if bool(relay.smarthost_username) != bool(relay.smarthost_password):
        raise ConfigError("relay.smarthost_username/password: set both or neither")
    for name, number in (
        ("relay.dns_timeout_secs", relay.dns_timeout_secs),
        ("relay.connect_timeout_secs", relay.connect_timeout_secs),
        ("relay.command_timeout_secs", relay.command_timeout_secs),
        ("relay.retry_base_secs", relay.retry_base_secs),
        ("relay.retry_max_secs", relay.retry_max_secs),
        ("relay.max_lifetime_secs", relay.max_lifetime_secs),
        ("relay.delay_warning_secs", relay.delay_warning_secs),
    ):
        if number <= 0:
            raise ConfigError(f"{name}: must be greater than 0, got {number}")
    if relay.retry_factor < 1:
        raise ConfigError(f"relay.retry_factor: must be at least 1, got {relay.retry_factor}")
    if not 0 <= relay.retry_jitter < 1:
        raise ConfigError(f"relay.retry_jitter: must be in [0, 1), got {relay.retry_jitter}")
    if bool(relay.dkim_selector) != bool(relay.dkim_key_path):
        raise ConfigError("relay.dkim_selector/dkim_key_path: set both or neither")


def _check_spam(spam: SpamSettings) -> None:
    """Validate the [spam] section (the filter name is checked when it is loaded)."""
    if not spam.filter:
        raise ConfigError("spam.filter: must name a filter (builtin, rspamd or none)")
    if spam.timeout_secs <= 0:
        raise ConfigError(f"spam.timeout_secs: must be greater than 0, got {spam.timeout_secs}")
    if not spam.rspamd_url.startswith(("http://", "https://")):
        raise ConfigError(f"spam.rspamd_url: expected an http(s) URL, got {spam.rspamd_url!r}")


def _printable_name(name: str) -> bool:
    """A host name we may put in a greeting or a header: visible ASCII, no spaces."""
    return 0 < len(name) <= 255 and all("!" <= ch <= "~" for ch in name)


def _check_urls(settings: Settings) -> None:
    """Refuse URLs whose scheme no installed driver, transport or backend knows."""
    from celery.app.backends import BACKEND_ALIASES
    from kombu.transport import TRANSPORT_ALIASES
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    broker = settings.celery.broker_url
    if broker and broker.split("://", 1)[0].split("+", 1)[0] not in TRANSPORT_ALIASES:
        raise ConfigError(f"celery.broker_url: unknown broker transport in {broker!r}")
    backend = settings.celery.result_backend
    if backend and backend.split("://", 1)[0].split("+", 1)[0] not in BACKEND_ALIASES:
        raise ConfigError(f"celery.result_backend: unknown result backend in {backend!r}")
    if settings.database.url:
        try:
            make_url(settings.database.url).get_dialect()
        except (ArgumentError, NoSuchModuleError, ValueError) as exc:
            raise ConfigError(f"database.url: {exc}") from None


def _default_hostname() -> str:
    return socket.getfqdn() or "localhost"


def check_production_secrets(settings: Settings) -> None:
    """Refuse a production start with the development JWT secret."""
    if settings.is_development:
        return
    if settings.api.jwt_secret == DEV_JWT_SECRET or len(settings.api.jwt_secret) < 32:
        raise ConfigError(
            "api.jwt_secret: set a secret of 32 or more characters (MAILRS_API_JWT_SECRET) "
            "outside development mode"
        )
