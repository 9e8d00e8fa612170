"""Loading the settings: the TOML file, MAILRS_<SECTION>_<KEY> overrides, validation, paths.

Also writes the development config (the packaged ``development.toml`` with a fresh JWT
secret) when ``mailrs up`` or the web app start without one.
"""

from __future__ import annotations

import os
import secrets
import tomllib
import typing
from importlib import resources
from pathlib import Path
from typing import Any

from mailrs.config.fields import EnvValue, convert
from mailrs.config.settings import SECTIONS, Settings
from mailrs.errors import ConfigError

DEFAULT_CONFIG_NAME = "mailrs.toml"
TOP_LEVEL_KEYS = ("mode",)
DEV_TEMPLATE = "development.toml"


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
    try:
        _apply_environment(raw, environ)
        base = config_path.parent.resolve() if config_path.exists() else Path.cwd()
        settings = _build(raw, str(config_path) if config_path.exists() else "")
        settings.validate()
    except ConfigError as exc:
        if not config_path.exists():
            raise
        raise ConfigError(f"{config_path}: {exc}") from None  # name the file in the message
    return settings.resolved(base)


def require_settings(
    path: str | os.PathLike[str] | None = None,
    environ: typing.Mapping[str, str] | None = None,
    hint: str = "give --config PATH or set MAILRS_CONFIG",
) -> Settings:
    """Like ``load_settings``, but with no config file found a ConfigError saying where it looked.

    Commands other than ``mailrs up`` use this: running on built-in defaults would create
    ``./data`` (a database, a broker folder) wherever the admin happened to stand.
    """
    config_path, explicit = resolve_config_path(path)
    if not config_path.exists():
        if explicit:
            raise ConfigError(f"config file {config_path} does not exist")
        raise ConfigError(f"no config file: looked for {config_path.resolve()} ({hint})")
    return load_settings(config_path, environ)


def dev_config_template() -> str:
    """The packaged development config, with ``{data_dir}`` and ``{jwt_secret}`` to fill in."""
    return resources.files("mailrs.config").joinpath(DEV_TEMPLATE).read_text(encoding="utf-8")


def write_dev_config(path: Path, data_dir: str = "data") -> None:
    """Write a development config with a fresh random JWT secret."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = dev_config_template().format(data_dir=data_dir, jwt_secret=secrets.token_urlsafe(32))
    path.write_text(text, encoding="utf-8")


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
            raw[rest] = EnvValue(value, name)
            continue
        section, _, key = rest.partition("_")
        if section in SECTIONS and key:
            if key not in SECTIONS[section].field_names():
                raise ConfigError(f"{name}: unknown key {section}.{key}")
            table = raw.setdefault(section, {})
            if not isinstance(table, dict):
                raise ConfigError(f"[{section}] must be a table")
            table[key] = EnvValue(value, name)


def _build(raw: dict[str, Any], source: str) -> Settings:
    for key in raw:
        if key not in SECTIONS and key not in TOP_LEVEL_KEYS:
            raise ConfigError(f"unknown key or section {key!r}")
    sections: dict[str, Any] = {}
    for name, cls in SECTIONS.items():
        table = raw.get(name, {})
        if not isinstance(table, dict):
            raise ConfigError(f"[{name}] must be a table")
        sections[name] = cls.from_mapping(table)
    mode = convert("mode", str, raw.get("mode", "development"))
    return Settings(mode=mode, source=source, **sections)
