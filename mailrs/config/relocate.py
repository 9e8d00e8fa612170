"""A config moved to a new data directory (``mailrs restore``): paths and database rewritten.

The restored file is the backed-up one with ``[storage]`` pointing at the new data
directory (its Maildir and spool derived from it), a SQLite database URL pointing into
it, and relative file paths (TLS pairs, the DKIM key) made absolute against the folder
the original file was in. Comments are not kept; values are.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

from mailrs.errors import ConfigError

PATH_KEYS = (
    ("smtp", "tls_cert_path"),
    ("smtp", "tls_key_path"),
    ("imap", "tls_cert_path"),
    ("imap", "tls_key_path"),
    ("relay", "dkim_key_path"),
    ("public", "profile_cert_path"),
    ("public", "profile_key_path"),
)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a valid TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    raise ConfigError(f"cannot write {value!r} to TOML")


def dump_toml(raw: dict[str, Any]) -> str:
    """A config mapping (top-level keys, then one level of tables) as TOML text."""
    lines = [
        f"{key} = {_value(value)}" for key, value in raw.items() if not isinstance(value, dict)
    ]
    for name, table in raw.items():
        if isinstance(table, dict):
            lines += ["", f"[{name}]"]
            lines += [f"{key} = {_value(value)}" for key, value in table.items()]
    return "\n".join(lines) + "\n"


def relocated_config(text: str, origin_dir: Path, data_dir: Path, database_url: str | None) -> str:
    """``text`` (a config file) rewritten for ``data_dir``; ``database_url`` replaces the URL."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"backed-up config is not valid TOML: {exc}") from None
    for section, key in PATH_KEYS:
        value = raw.get(section, {}).get(key)
        if value and not Path(value).is_absolute():
            raw[section][key] = str((origin_dir / value).resolve())
    storage = raw.setdefault("storage", {})
    storage.pop("maildir_path", None)
    storage.pop("spool_path", None)
    storage["data_dir"] = str(data_dir)
    if database_url is not None:
        raw.setdefault("database", {})["url"] = database_url
    return dump_toml(raw)
