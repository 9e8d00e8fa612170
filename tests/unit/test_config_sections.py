"""Each config section converts and checks itself; the packaged files installs rely on exist."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from mailrs.config import (
    SECTIONS,
    ImapSettings,
    RelaySettings,
    Settings,
    SmtpSettings,
    dev_config_template,
    load_settings,
)
from mailrs.config.fields import EnvValue, Section
from mailrs.db.migrate import script_location
from mailrs.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", sorted(SECTIONS))
def test_every_section_is_named_and_its_defaults_validate(name: str) -> None:
    cls = SECTIONS[name]
    assert issubclass(cls, Section) and cls.section == name
    cls().validate()
    assert cls.from_mapping({}) == cls()


@pytest.mark.parametrize(
    ("section", "message"),
    [
        (SmtpSettings(max_recipients=0), "smtp.max_recipients: must be greater than 0, got 0"),
        (SmtpSettings(sender_policy="all"), "smtp.sender_policy: must be own, domain or any"),
        (SmtpSettings(processes=0), "smtp.processes: must be greater than 0, got 0"),
        (SmtpSettings(processes=65), "smtp.processes: at most 64, got 65"),
        (ImapSettings(max_line_bytes=100), "imap.max_line_bytes: must be at least 1024"),
        (ImapSettings(processes=0), "imap.processes: must be greater than 0, got 0"),
        (ImapSettings(processes=65), "imap.processes: at most 64, got 65"),
        (ImapSettings(max_connections=0), "imap.max_connections: must be greater than 0, got 0"),
        (RelaySettings(retry_factor=0.5), "relay.retry_factor: must be at least 1, got 0.5"),
        (RelaySettings(dkim_selector="s1"), "relay.dkim_selector/dkim_key_path: set both"),
    ],
)
def test_a_section_validates_itself(section: Section, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        section.validate()
    assert str(caught.value).startswith(message)


def test_from_mapping_converts_and_names_the_bad_key() -> None:
    smtp = SmtpSettings.from_mapping(
        {"max_recipients": EnvValue("7", "MAILRS_SMTP_MAX_RECIPIENTS"), "local_domains": ["a.test"]}
    )
    assert (smtp.max_recipients, smtp.local_domains) == (7, ("a.test",))
    with pytest.raises(ConfigError, match=r"^smtp\.bogus: unknown key$"):
        SmtpSettings.from_mapping({"bogus": 1})
    with pytest.raises(ConfigError, match=r"^MAILRS_SMTP_MAX_RECIPIENTS: expected an integer"):
        SmtpSettings.from_mapping({"max_recipients": EnvValue("x", "MAILRS_SMTP_MAX_RECIPIENTS")})
    with pytest.raises(ConfigError, match=r"^relay\.retry_factor: expected a number, got 'x'"):
        RelaySettings.from_mapping({"retry_factor": "x"})


def test_settings_validate_asks_every_section() -> None:
    Settings().validate()
    with pytest.raises(ConfigError, match="^mode: must be one of"):
        Settings(mode="staging").validate()
    with pytest.raises(ConfigError, match=r"^relay\.smtp_port: out of range"):
        Settings(relay=RelaySettings(smtp_port=0)).validate()


def test_the_development_template_is_packaged_and_loads(tmp_path: Path) -> None:
    text = dev_config_template()
    filled = tomllib.loads(text.format(data_dir="data", jwt_secret="s" * 40))
    assert set(filled) - {"mode"} <= set(SECTIONS)
    assert filled["api"]["jwt_secret"] == "s" * 40
    path = tmp_path / "sub" / "mailrs.toml"
    path.parent.mkdir()
    path.write_text(text.format(data_dir="data", jwt_secret="s" * 40))
    settings = load_settings(path, environ={})
    assert settings.smtp.enable_tls and settings.data_dir == tmp_path / "sub" / "data"
    assert settings.imap.tls_cert_path == str(tmp_path / "sub" / "data" / "tls" / "cert.pem")
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "*.toml" in project["tool"]["setuptools"]["package-data"]["mailrs.config"]


def test_migrations_are_found_as_a_package_resource() -> None:
    folder = Path(script_location())
    assert (folder / "env.py").is_file() and (folder / "script.py.mako").is_file()
    assert any((folder / "versions").glob("0001_*.py"))
