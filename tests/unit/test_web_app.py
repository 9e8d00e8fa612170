"""The web app factory: configuration, refusing unsafe production starts, headers, /health."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from support.config import unused_port, write_config

from mailrs.config import DEV_JWT_SECRET, Settings
from mailrs.errors import ConfigError
from web import create_app
from web.resources import get_resources
from web.security import derive_secret_key


def build_app(config_path: Path, **overrides: object) -> Flask:
    """A test app on the given config."""
    return create_app({"MAILRS_CONFIG": str(config_path), "TESTING": True, **overrides})


def dispose(app: Flask) -> None:
    """Close the app's database connections."""
    with app.app_context():
        get_resources().database.dispose()


def production_config(tmp_path: Path, jwt_secret: str) -> Path:
    """A production-mode config file with the given JWT secret."""
    path = write_config(tmp_path, port=unused_port)
    text = path.read_text().replace('mode = "development"', 'mode = "production"')
    text = text.replace("test-only-jwt-secret-not-real-0123", jwt_secret)
    path.write_text(text)
    return path


# -- factory and configuration ---------------------------------------------------------


def test_app_holds_settings_database_and_store(app: Flask, settings: Settings) -> None:
    resources = app.extensions["mailrs"]
    assert resources.settings.maildir_path == settings.maildir_path
    assert resources.database.url == settings.database_url
    assert resources.store.base == settings.maildir_path


def test_secret_key_is_derived_from_the_jwt_secret(app: Flask, settings: Settings) -> None:
    key = app.config["SECRET_KEY"]
    assert key == derive_secret_key(settings.api.jwt_secret)
    assert settings.api.jwt_secret not in key
    assert derive_secret_key("another-secret-entirely") != key


def test_development_cookies_are_httponly_and_lax_but_not_secure(app: Flask) -> None:
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert app.config["SESSION_COOKIE_SECURE"] is False


@pytest.mark.parametrize("secret", [DEV_JWT_SECRET, "too-short"])
def test_production_refuses_to_start_with_a_weak_jwt_secret(tmp_path: Path, secret: str) -> None:
    with pytest.raises(ConfigError, match="api.jwt_secret"):
        build_app(production_config(tmp_path, secret))


def test_production_with_a_real_secret_starts_with_secure_cookies(tmp_path: Path) -> None:
    app = build_app(production_config(tmp_path, "a-long-and-random-production-secret"))
    try:
        assert app.config["SESSION_COOKIE_SECURE"] is True
        assert app.config["REMEMBER_COOKIE_SECURE"] is True
        response = app.test_client().get("/login")
        assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    finally:
        dispose(app)


def test_missing_config_file_named_explicitly_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        build_app(tmp_path / "nowhere.toml")


def test_first_run_writes_a_development_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MAILRS_CONFIG", raising=False)
    app = create_app({"TESTING": True})
    try:
        assert (tmp_path / "mailrs.toml").is_file()
        settings = app.extensions["mailrs"].settings
        assert settings.is_development
        assert settings.api.jwt_secret != DEV_JWT_SECRET
    finally:
        dispose(app)


def test_mail_user_commands_are_registered(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["mail-user", "--help"])
    assert result.exit_code == 0
    for name in ("add", "list", "delete", "exists", "passwd"):
        assert name in result.output


# -- security headers ------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/login", "/health", "/static/style.css"])
def test_security_headers_on_every_response(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in response.headers  # development: plain HTTP


def test_pages_have_no_inline_scripts_or_styles(client: FlaskClient) -> None:
    html = client.get("/login").get_data(as_text=True)
    assert "<script" not in html
    assert "<style" not in html
    assert "style=" not in html
    assert 'name="viewport"' in html


# -- /health ---------------------------------------------------------------------------


def test_health_ok(app: Flask, settings: Settings) -> None:
    (settings.broker_dir / "queue").mkdir(parents=True)
    response = app.test_client().get("/health")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok", "broker": "ok"}
    assert response.headers["Cache-Control"] == "no-store"


def test_health_degraded_when_the_broker_folder_is_missing(client: FlaskClient) -> None:
    response = client.get("/health")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "degraded"
    assert body["database"] == "ok"
    assert "missing" in body["broker"]
