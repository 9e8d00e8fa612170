"""The mailrs web app: `create_app()` builds it for `flask` and `gunicorn 'web:create_app()'`.

Nothing happens at import time. The factory loads the mailrs settings, refuses a
production start with the development JWT secret, wires the shared resources, the
security settings and the blueprints, and registers the ``flask mail-user`` commands.
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from mailrs.config import check_production_secrets, load_settings
from web import (
    account,
    admin,
    api,
    auth,
    autoconfig,
    chat,
    contacts,
    filters,
    folders,
    health,
    mail,
    mail_actions,
    metrics,
    resources,
    security,
)
from web.cli import mail_user
from web.deadline import BodyDeadline


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the web app; ``test_config`` may name MAILRS_CONFIG and override Flask settings."""
    test_config = test_config or {}
    settings = load_settings(test_config.get("MAILRS_CONFIG"), create_dev=True)
    check_production_secrets(settings)  # a no-op in development mode

    app = Flask(__name__)
    app.config.update(security.security_config(settings))
    app.config["MAX_CONTENT_LENGTH"] = settings.api.max_upload_bytes
    app.config.update(test_config)

    resources.init_app(app, settings)
    security.init_app(app)
    auth.init_app(app)

    app.register_blueprint(health.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(mail.bp)
    app.register_blueprint(mail_actions.bp)
    app.register_blueprint(folders.bp)
    app.register_blueprint(account.bp)
    app.register_blueprint(contacts.bp)
    autoconfig.init_app(app)
    app.register_blueprint(filters.bp)
    api.init_app(app)
    admin.init_app(app)
    metrics.init_app(app)
    chat.init_app(app)
    app.cli.add_command(mail_user)
    app.wsgi_app = BodyDeadline(app.wsgi_app)  # type: ignore[method-assign]
    return app
