"""The systemd units in docker/systemd/: one per service plus migrations and a target, each
restarted on failure as a dedicated user with hardening, checked by ``systemd-analyze``."""

from __future__ import annotations

import configparser
import subprocess
from pathlib import Path

import pytest
from support.processes import VENV_BIN
from support.services import require_tool

UNITS = Path(__file__).resolve().parents[2] / "docker" / "systemd"
SERVICES = ["mailrs-smtpd", "mailrs-imapd", "mailrs-web", "mailrs-worker"]
HARDENING = {
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "RestrictNamespaces": "yes",
}


def read(name: str) -> configparser.ConfigParser:
    """A unit file as sections of keys (repeated keys keep the last value)."""
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string((UNITS / name).read_text())
    return parser


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_restarts_runs_as_mailrs_and_is_hardened(service: str) -> None:
    unit = read(f"{service}.service")
    body = unit["Service"]
    assert body["Restart"] == "on-failure"
    assert body["User"] == "mailrs" and body["Group"] == "mailrs"
    assert (
        "Environment=MAILRS_CONFIG=/etc/mailrs/mailrs.toml"
        in (UNITS / f"{service}.service").read_text()
    )
    for key, value in HARDENING.items():
        assert body[key] == value, key
    assert unit["Unit"]["PartOf"] == "mailrs.target"
    assert "mailrs-migrate.service" in unit["Unit"]["After"]
    assert unit["Install"]["WantedBy"] == "mailrs.target"
    binding = service in ("mailrs-smtpd", "mailrs-imapd")
    assert (body["AmbientCapabilities"] == "CAP_NET_BIND_SERVICE") is binding


def test_the_target_wants_every_service_and_migrations_run_once() -> None:
    wants = read("mailrs.target")["Unit"]["Wants"].split()
    assert set(wants) == {f"{s}.service" for s in SERVICES} | {"mailrs-migrate.service"}
    migrate = read("mailrs-migrate.service")["Service"]
    assert migrate["Type"] == "oneshot" and migrate["ExecStart"].endswith("mailrs db upgrade")


def test_systemd_analyze_verifies_the_units(tmp_path: Path) -> None:
    analyze = require_tool("systemd-analyze")
    for unit in UNITS.iterdir():
        text = unit.read_text().replace("/opt/mailrs/.venv/bin", str(VENV_BIN))
        (tmp_path / unit.name).write_text(text)
    names = sorted(str(p) for p in tmp_path.iterdir())
    result = subprocess.run(
        [analyze, "verify", "--man=no", *names],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr
