"""Configuration: defaults, environment overrides, and one clear line for every bad value."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailrs.config import DEV_JWT_SECRET, check_production_secrets, load_settings
from mailrs.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mailrs.toml"
    path.write_text(text)
    return path


def test_defaults_and_derived_paths(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, ""), environ={})
    assert settings.mode == "development"
    assert settings.smtp.listen_addr == "127.0.0.1:2525"
    assert settings.imap.listen_addr == "127.0.0.1:1993"
    assert settings.api.listen_addr == "127.0.0.1:8080"
    assert settings.data_dir == tmp_path / "data"
    assert settings.maildir_path == tmp_path / "data" / "maildir"
    assert settings.spool_path == tmp_path / "data" / "spool"
    assert settings.database_url == f"sqlite:///{tmp_path / 'data' / 'mailrs.db'}"
    assert settings.embedded_broker and settings.broker_url == "filesystem://"


def test_every_reference_key_is_accepted(tmp_path: Path) -> None:
    text = """
[smtp]
listen_addr = "127.0.0.1:25"
submission_addr = "127.0.0.1:587"
enable_tls = true
tls_cert_path = "cert.pem"
tls_key_path = "key.pem"
enable_auth = true
require_auth = false
max_message_size = 1000
timeout_secs = 30
local_domains = ["Example.COM", "example.org"]
[imap]
listen_addr = "127.0.0.1:143"
timeout_secs = 60
[api]
listen_addr = "127.0.0.1:8080"
jwt_secret = "0123456789abcdef0123456789abcdef"
token_expiry_hours = 2
cors_origins = ["https://a.example"]
[storage]
data_dir = "/var/lib/mailrs"
maildir_path = "/srv/mail"
spool_path = "spool"
[database]
url = "postgresql+psycopg://u@h/db"
[celery]
broker_url = "redis://127.0.0.1:6379/0"
result_backend = "redis://127.0.0.1:6379/1"
"""
    settings = load_settings(write(tmp_path, text), environ={})
    assert settings.smtp.local_domains == ("example.com", "example.org")
    assert settings.maildir_path == Path("/srv/mail")
    assert settings.spool_path == tmp_path / "spool"
    assert settings.database_url.startswith("postgresql+psycopg://")
    assert not settings.embedded_broker
    assert settings.api.cors_origins == ("https://a.example",)


def test_environment_overrides_every_type(tmp_path: Path) -> None:
    env = {
        "MAILRS_SMTP_LISTEN_ADDR": "127.0.0.1:3025",
        "MAILRS_SMTP_REQUIRE_AUTH": "yes",
        "MAILRS_SMTP_MAX_MESSAGE_SIZE": "2048",
        "MAILRS_SMTP_LOCAL_DOMAINS": "a.test, b.test",
        "MAILRS_CELERY_BROKER_URL": "redis://127.0.0.1:6379/3",
        "MAILRS_MODE": "production",
        "UNRELATED": "x",
    }
    settings = load_settings(write(tmp_path, '[smtp]\nlisten_addr = "127.0.0.1:1"\n'), environ=env)
    assert settings.smtp.listen_addr == "127.0.0.1:3025"
    assert settings.smtp.require_auth is True
    assert settings.smtp.max_message_size == 2048
    assert settings.smtp.local_domains == ("a.test", "b.test")
    assert settings.broker_url == "redis://127.0.0.1:6379/3"
    assert settings.mode == "production"


@pytest.mark.parametrize(
    ("text", "env", "needle"),
    [
        ("[smtp]\nbogus = 1\n", {}, "smtp.bogus: unknown key"),
        ("[nosuch]\nx = 1\n", {}, "'nosuch'"),
        ('[smtp]\nmax_message_size = "big"\n', {}, "smtp.max_message_size: expected an integer"),
        ("[smtp]\nenable_tls = 1\n", {}, "smtp.enable_tls: expected a boolean"),
        ('[smtp]\nlocal_domains = "a.test"\n', {}, "smtp.local_domains: expected a list"),
        ("[smtp]\nmax_message_size = 0\n", {}, "smtp.max_message_size: must be greater than 0"),
        ('[smtp]\nlisten_addr = "127.0.0.1:99999"\n', {}, "smtp.listen_addr: port 99999"),
        ('[smtp]\nlisten_addr = "nohostport"\n', {}, "smtp.listen_addr: expected host:port"),
        ("[smtp]\nenable_tls = true\n", {}, "smtp.enable_tls: needs"),
        ("[imap]\ntimeout_secs = -5\n", {}, "imap.timeout_secs"),
        ('mode = "staging"\n', {}, "mode: must be one of"),
        ('[celery]\nbroker_url = "localhost"\n', {}, "celery.broker_url: expected a URL"),
        ("[smtp\n", {}, "not valid TOML"),
        ("", {"MAILRS_SMTP_TIMEOUT_SECS": "soon"}, "MAILRS_SMTP_TIMEOUT_SECS: expected an integer"),
        ("", {"MAILRS_SMTP_NOPE": "1"}, "MAILRS_SMTP_NOPE: unknown key smtp.nope"),
        ("", {"MAILRS_SMTP_ENABLE_AUTH": "maybe"}, "expected a boolean"),
        ('[database]\nurl = "foo://bar"\n', {}, "database.url: "),
        ('[celery]\nbroker_url = "ftp://x"\n', {}, "celery.broker_url: unknown broker transport"),
        ('[celery]\nresult_backend = "ftp://x"\n', {}, "celery.result_backend: unknown"),
        ("[celery]\nsweep_interval_secs = -1\n", {}, "celery.sweep_interval_secs: must not"),
        ('[smtp]\nhostname = "mx.example\\r\\nX: y"\n', {}, "smtp.hostname: not a host name"),
        ('[smtp]\nhostname = "two words"\n', {}, "smtp.hostname: not a host name"),
        ('[smtp]\nlisten_addr = "256.1.1.1:25"\n', {}, "smtp.listen_addr: bad host"),
        ('[imap]\nlisten_addr = "bad_host!:25"\n', {}, "imap.listen_addr: bad host"),
    ],
)
def test_bad_values_name_the_key(
    tmp_path: Path, text: str, env: dict[str, str], needle: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, text), environ=env)
    message = str(info.value)
    assert needle in message
    assert "\n" not in message


def test_explicit_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "missing.toml", environ={})


def test_mailrs_config_variable_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, '[imap]\nlisten_addr = "127.0.0.1:4143"\n')
    monkeypatch.setenv("MAILRS_CONFIG", str(path))
    assert load_settings().imap.listen_addr == "127.0.0.1:4143"


def test_development_config_created_on_first_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MAILRS_CONFIG", raising=False)
    settings = load_settings(create_dev=True, environ={})
    assert (tmp_path / "mailrs.toml").exists()
    assert settings.is_development
    assert settings.api.jwt_secret != DEV_JWT_SECRET and len(settings.api.jwt_secret) >= 32
    again = load_settings(create_dev=True, environ={})
    assert again.api.jwt_secret == settings.api.jwt_secret


def test_production_refuses_the_default_secret(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, 'mode = "production"\n'), environ={})
    with pytest.raises(ConfigError, match="api.jwt_secret"):
        check_production_secrets(settings)
    good = load_settings(
        write(
            tmp_path,
            'mode = "production"\n[api]\njwt_secret = "a-long-real-secret-value-of-32-chars"\n',
        ),
        environ={},
    )
    check_production_secrets(good)
