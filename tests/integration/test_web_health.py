"""The health endpoint when the database server does not answer."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from support.config import free_port, write_config

from web import create_app
from web.resources import get_resources


def test_health_degraded_when_the_database_is_unreachable(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/nothing"
    app = build_app(write_config(tmp_path, db_url=url))
    try:
        settings = app.extensions["mailrs"].settings
        (settings.broker_dir / "queue").mkdir(parents=True)
        response = app.test_client().get("/health")
        assert response.status_code == 503
        body = response.get_json()
        assert body["status"] == "degraded"
        assert body["database"].startswith("unreachable")
        assert body["broker"] == "ok"
    finally:
        dispose(app)


def build_app(config_path: Path, **overrides: object) -> Flask:
    """A test app on the given config."""
    return create_app({"MAILRS_CONFIG": str(config_path), "TESTING": True, **overrides})


def dispose(app: Flask) -> None:
    """Close the app's database connections."""
    with app.app_context():
        get_resources().database.dispose()
