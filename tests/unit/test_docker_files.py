"""The docker/ files: the compose files parse and their settings pass the config checks.

This is what can be verified without a Docker engine; tests/test_docker_site.py runs the
site for real where one answers.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import yaml

from mailrs.config import load_settings

DOCKER = Path(__file__).resolve().parents[2] / "docker"
ENTRYPOINTS = {"mailrs", "smtpd", "imapd", "gunicorn", "celery"}


def _expand(value: str) -> str:
    """Resolve ${VAR:-default} and ${VAR:?msg} the way compose would with test values."""
    value = re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", value)
    return re.sub(r"\$\{[A-Z_]+:\?[^}]*\}", "compose-test-value-0123456789", value)


# The site in miniature: two smtpd and two workers, one of everything else.
SITE = {"redis", "postgres", "migrate", "imapd", "web", "flower"}
SITE |= {"smtpd-1", "smtpd-2", "worker-1", "worker-2"}


def _compose(name: str = "compose.yaml") -> dict:
    return yaml.safe_load((DOCKER / name).read_text())


def test_compose_services_and_commands() -> None:
    services = _compose()["services"]
    assert set(services) >= SITE
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
    assert {"smtpd-1", "smtpd-2", "imapd", "web", "worker-1", "worker-2"} <= set(checked), checked


def _mounts(service: dict) -> set[str]:
    return {str(volume).split(":")[0] for volume in service.get("volumes", [])}


def test_compose_shares_maildir_and_spool_volumes() -> None:
    services = _compose()["services"]
    for name in ("smtpd-1", "smtpd-2", "worker-1", "worker-2", "web"):
        assert {"maildir", "spool"} <= _mounts(services[name]), name
    assert "maildir" in _mounts(services["imapd"])
    assert "spool" not in _mounts(services["imapd"])


def test_compose_publishes_on_loopback_by_default() -> None:
    published = 0
    for name, service in _compose()["services"].items():
        for port in service.get("ports", []):
            assert _expand(str(port)).startswith("127.0.0.1:"), (name, port)
            published += 1
    assert published >= 9


def test_local_override_builds_every_image_on_the_local_base() -> None:
    site = _compose()["services"]
    local = _compose("compose.local.yaml")["services"]
    assert set(local) == {name for name in site if "build" in site[name]} | {"redis", "postgres"}
    for name, service in local.items():
        assert service["build"]["args"]["BASE"] == "${MAILRS_BASE:-mailrs-base:trixie}", name
        dockerfile = DOCKER / service["build"]["context"] / service["build"]["dockerfile"]
        assert dockerfile.is_file(), name
        assert "ARG BASE=" in dockerfile.read_text(), name


def test_dockerfile_installs_every_package() -> None:
    text = (DOCKER / "Dockerfile").read_text()
    for package in ("mailrs", "workers", "smtpd", "imapd", "web", "migrations"):
        assert f"COPY {package} ./{package}" in text
    assert "celeryconfig.py" in text
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    # Users get a public Python image; offline machines pass --build-arg BASE=….
    default = re.fullmatch(r"ARG BASE=python:3\.(\d+)-slim", lines[0])
    assert default and int(default.group(1)) >= 12, lines[0]
    assert shlex.split(lines[1]) == ["FROM", "${BASE}"]
