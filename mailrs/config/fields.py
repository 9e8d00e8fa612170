"""Typed config values: TOML or environment text to field types, and the checks sections share.

A section is a frozen dataclass deriving from ``Section``: ``from_mapping`` converts one
TOML table (or environment overlay) to its field types, ``validate`` checks its own
values, and ``resolved`` makes its paths absolute. Every problem is a ``ConfigError``
naming the offending key.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Self

from mailrs.errors import ConfigError


@dataclass(frozen=True)
class EnvValue:
    """A value that came from a MAILRS_* variable: text, converted when its type is known."""

    text: str
    variable: str


class Section:
    """The behaviour every settings section shares; subclasses are frozen dataclasses."""

    section: ClassVar[str]

    @classmethod
    def field_names(cls) -> frozenset[str]:
        """The keys this section accepts."""
        return frozenset(f.name for f in dataclasses.fields(cls))  # type: ignore[arg-type]

    @classmethod
    def from_mapping(cls, table: Mapping[str, Any]) -> Self:
        """Build the section from one table, converting every value to its field's type."""
        hints = typing.get_type_hints(cls)
        known = cls.field_names()
        values = {}
        for key, value in table.items():
            if key not in known:
                raise ConfigError(f"{cls.section}.{key}: unknown key")
            values[key] = convert(f"{cls.section}.{key}", hints[key], value)
        return cls(**values)

    def validate(self) -> None:
        """Check the section's own values; raise ConfigError naming the bad key."""

    def resolved(self, base: Path) -> Self:
        """The section with relative paths made absolute against ``base``."""
        return self


def convert(name: str, hint: Any, value: Any) -> Any:
    """``value`` (from TOML or an EnvValue) as the type ``hint`` names."""
    where = value.variable if isinstance(value, EnvValue) else name
    if isinstance(value, EnvValue):
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


def require_positive(*named: tuple[str, float]) -> None:
    """Each ``(name, number)`` must be greater than 0."""
    for name, number in named:
        if number <= 0:
            raise ConfigError(f"{name}: must be greater than 0, got {number}")


def require_not_negative(*named: tuple[str, float]) -> None:
    """Each ``(name, number)`` must be 0 or more."""
    for name, number in named:
        if number < 0:
            raise ConfigError(f"{name}: must not be negative, got {number}")


def absolute(base: Path, path: str) -> str:
    """``path`` made absolute against ``base``; empty stays empty."""
    return str((base / path).resolve()) if path else ""


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
