"""The docker/ files: the compose file parses and its settings pass the config checks.

There is no Docker engine on the build machines, so this is what can be verified here.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import yaml

from mailrs.config import load_settings

DOCKER = Path(__file__).resolve().parents[2] / "docker"
ENTRYPOINTS = {"mailrs", "smtpd", "imapd", "gunicorn", "celery"}


def _compose() -> dict:
    return yaml.safe_load((DOCKER / "compose.yaml").read_text())


def _expand(value: str) -> str:
    """Resolve ${VAR:-default} and ${VAR:?msg} the way compose would with test values."""
    value = re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", value)
    return re.sub(r"\$\{[A-Z_]+:\?[^}]*\}", "compose-test-value-0123456789", value)


def test_compose_services_and_commands() -> None:
    services = _compose()["services"]
    assert {"redis", "postgres", "migrate", "smtpd", "imapd", "web", "worker", "flower"} <= set(
        services
    )
    for name, service in services.items():
        if "command" in service and name not in ("redis",):
            assert service["command"][0] in ENTRYPOINTS, name


def test_compose_environment_is_a_valid_mailrs_config(tmp_path: Path) -> None:
    config = tmp_path / "mailrs.toml"
    config.write_text("")
    checked = []
    for name, service in _compose()["services"].items():
        env = service.get("environment", {})
        if not any(key.startswith("MAILRS_") for key in env):
            continue
        checked.append(name)
        environ = {key: _expand(str(value)) for key, value in env.items()}
        settings = load_settings(config, environ=environ)
        assert settings.mode == "production", name
        assert not settings.embedded_broker, name
        assert settings.database_url.startswith("postgresql+psycopg://"), name
    # The services configured through MAILRS_ variables: if none were found, nothing was checked.
    assert {"smtpd", "imapd", "web", "worker"} <= set(checked), checked


def test_dockerfile_installs_every_package() -> None:
    text = (DOCKER / "Dockerfile").read_text()
    for package in ("mailrs", "workers", "smtpd", "imapd", "web", "migrations"):
        assert f"COPY {package} ./{package}" in text
    assert "celeryconfig.py" in text
    assert shlex.split(text.splitlines()[1])[0] == "FROM"
