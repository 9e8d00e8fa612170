"""Who is calling the REST API: a Bearer JWT, or the browser session plus a CSRF token.

A token caller needs no CSRF token (no cookie is involved); a session caller must send
``X-CSRFToken`` on every request that changes something.
"""

from __future__ import annotations

from flask import current_app, request
from flask_login import current_user
from werkzeug.exceptions import Unauthorized

from mailrs.accounts.sessions import session_user
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
            claims = verify_token(get_resources().settings, token.strip())
        except BadToken as exc:
            raise Unauthorized(str(exc)) from exc
        user = session_user(get_db_session(), claims.sid, claims.uid)
        if user is None:
            raise Unauthorized("token revoked, or account unknown or disabled")
        return AccountUser.of(user, claims.sid)
    if current_user.is_authenticated:
        if request.method not in SAFE_METHODS:
            current_app.extensions["csrf"].protect()
        return AccountUser(
            id=current_user.id,
            address=current_user.address,
            uid=current_user.uid,
            sid=current_user.sid,
            is_admin=current_user.is_admin,
        )
    raise Unauthorized("log in or send a Bearer token")
