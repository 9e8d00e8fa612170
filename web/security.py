"""Browser-facing hardening: the session key, cookie flags, CSRF and security headers.

Every response but the static files gets ``Cache-Control: no-store``: pages and API
answers carry mail or account data, which no browser or proxy cache may keep.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from flask import Flask, Response, current_app, render_template, request
from flask_wtf.csrf import CSRFError, CSRFProtect

from mailrs.config import Settings

SESSION_KEY_CONTEXT = b"mailrs web session signing key v1"

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'; object-src 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # "same-origin" keeps the Referer that Flask-WTF checks on HTTPS form posts.
    "Referrer-Policy": "same-origin",
}
HSTS = "max-age=31536000"


def derive_secret_key(jwt_secret: str) -> str:
    """A session signing key derived from the JWT secret, distinct from it (HMAC-SHA256)."""
    return hmac.new(jwt_secret.encode("utf-8"), SESSION_KEY_CONTEXT, hashlib.sha256).hexdigest()


def security_config(settings: Settings) -> dict[str, Any]:
    """Flask settings for the session key and cookies; cookies are Secure outside development."""
    secure = not settings.is_development
    return {
        "SECRET_KEY": derive_secret_key(settings.api.jwt_secret),
        "SESSION_COOKIE_NAME": "mailrs_session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": secure,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": secure,
    }


def init_app(app: Flask) -> None:
    """Enable CSRF protection on every form post and add the security headers."""
    CSRFProtect(app)
    app.register_error_handler(CSRFError, csrf_failed_page)
    app.after_request(_add_security_headers)


def _add_security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if not request.path.startswith("/static/"):
        cache = response.headers.get("Cache-Control", "")
        if "no-store" not in cache:
            response.headers["Cache-Control"] = "private, no-store"
    if current_app.config.get("SESSION_COOKIE_SECURE"):
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def csrf_failed_page(error: CSRFError) -> tuple[str, int]:
    """The page shown when a form's CSRF token is missing or stale."""
    return render_template("error.html", title="Form expired", message=error.description), 400
