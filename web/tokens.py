"""API tokens: JWT (HS256) signed with ``[api] jwt_secret``, valid ``token_expiry_hours``.

PyJWT (and the ``cryptography.x509`` modules it loads, ~0.9 MiB) is imported by the first
token issued or checked, not by the web app's start (``tests/integration/test_service_imports.py``).

``sub`` is the account's random ``uid`` (never a row id, which SQLite may hand to a later
account) and ``jti`` the id of its ``auth_sessions`` row, so a token can be revoked.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from mailrs.config import Settings

ALGORITHM = "HS256"
AUDIENCE = "mailrs-api"


class BadToken(Exception):
    """The token is missing, malformed, expired, or not signed by us."""


@dataclass(frozen=True)
class TokenClaims:
    """Who a valid token names: the account's uid and the session (``jti``) it belongs to."""

    uid: str
    sid: str


def token_lifetime(settings: Settings) -> dt.timedelta:
    """How long a new token is valid."""
    return dt.timedelta(hours=settings.api.token_expiry_hours)


def issue_token(settings: Settings, uid: str, sid: str, address: str) -> tuple[str, dt.datetime]:
    """A signed token for this account and session, and the moment it expires."""
    now = dt.datetime.now(dt.UTC)
    expires = now + token_lifetime(settings)
    claims = {
        "sub": uid,
        "jti": sid,
        "email": address,
        "iat": now,
        "exp": expires,
        "aud": AUDIENCE,
    }
    import jwt

    return jwt.encode(claims, settings.api.jwt_secret, algorithm=ALGORITHM), expires


def verify_token(settings: Settings, token: str) -> TokenClaims:
    """The claims of a validly signed, unexpired token; BadToken otherwise (HS256 only).

    The caller still checks that the session ``jti`` is live (not revoked).
    """
    import jwt

    try:
        claims = jwt.decode(
            token,
            settings.api.jwt_secret,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            options={"require": ["exp", "iat", "sub", "aud", "jti"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise BadToken("token expired") from exc
    except (jwt.InvalidTokenError, ValueError, TypeError) as exc:
        raise BadToken("invalid token") from exc
    uid, sid = claims.get("sub"), claims.get("jti")
    if not isinstance(uid, str) or not isinstance(sid, str) or not uid or not sid:
        raise BadToken("invalid token")
    return TokenClaims(uid=uid, sid=sid)
