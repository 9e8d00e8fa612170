"""Who is calling the REST API: a Bearer JWT, or the browser session plus a CSRF token.

A token caller needs no CSRF token (no cookie is involved); a session caller must send
``X-CSRFToken`` on every request that changes something.
"""

from __future__ import annotations

from flask import current_app, request
from flask_login import current_user
from werkzeug.exceptions import Unauthorized

from mailrs.db.models import User
from web.auth import AccountUser
from web.resources import get_db_session, get_resources
from web.tokens import BadToken, verify_token

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def api_caller() -> AccountUser:
    """The account making this API request; 401 (or a CSRF error) otherwise."""
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("use 'Authorization: Bearer <token>'")
        try:
            user_id = verify_token(get_resources().settings, token.strip())
        except BadToken as exc:
            raise Unauthorized(str(exc)) from exc
        user = get_db_session().get(User, user_id)
        if user is None or user.disabled:
            raise Unauthorized("account unknown or disabled")
        return AccountUser(id=user.id, address=user.address)
    if current_user.is_authenticated:
        if request.method not in SAFE_METHODS:
            current_app.extensions["csrf"].protect()
        return AccountUser(id=current_user.id, address=current_user.address)
    raise Unauthorized("log in or send a Bearer token")
