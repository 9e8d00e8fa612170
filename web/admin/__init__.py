"""The admin area: HTML pages under /admin and the same operations under /api/admin."""

from __future__ import annotations

from flask import Flask

from web.admin import api, pages


def init_app(app: Flask) -> None:
    """Register both blueprints; the API one checks CSRF itself, as the rest of /api does."""
    app.register_blueprint(pages.bp)
    app.extensions["csrf"].exempt(api.bp)
    app.register_blueprint(api.bp)
