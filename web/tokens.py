"""API tokens: JWT (HS256) signed with ``[api] jwt_secret``, valid ``token_expiry_hours``."""

from __future__ import annotations

import datetime as dt

import jwt

from mailrs.config import Settings

ALGORITHM = "HS256"
AUDIENCE = "mailrs-api"


class BadToken(Exception):
    """The token is missing, malformed, expired, or not signed by us."""


def issue_token(settings: Settings, user_id: int, address: str) -> tuple[str, dt.datetime]:
    """A signed token for this account and the moment it expires."""
    now = dt.datetime.now(dt.UTC)
    expires = now + dt.timedelta(hours=settings.api.token_expiry_hours)
    claims = {"sub": str(user_id), "email": address, "iat": now, "exp": expires, "aud": AUDIENCE}
    return jwt.encode(claims, settings.api.jwt_secret, algorithm=ALGORITHM), expires


def verify_token(settings: Settings, token: str) -> int:
    """The account id in a valid token; BadToken otherwise (only HS256 is accepted)."""
    try:
        claims = jwt.decode(
            token,
            settings.api.jwt_secret,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            options={"require": ["exp", "iat", "sub", "aud"]},
        )
        return int(claims["sub"])
    except jwt.ExpiredSignatureError as exc:
        raise BadToken("token expired") from exc
    except (jwt.InvalidTokenError, ValueError, TypeError) as exc:
        raise BadToken("invalid token") from exc
