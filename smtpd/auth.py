"""SMTP AUTH (PLAIN, LOGIN) against the users table, throttled per account+IP and per IP.

aiosmtpd decodes the mechanisms; this object decides. Each attempt is counted by the
shared throttle before the password is checked. Argon2 and the throttle's storage are
blocking, so both run in threads; the growing delay after failures is an
``asyncio.sleep``, so other sessions are served meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from functools import partial

from aiosmtpd.smtp import AuthResult, LoginPassword

from mailrs.accounts.throttle import LoginThrottle, ThrottleDecision
from mailrs.accounts.users import authenticate
from mailrs.db.engine import Database
from mailrs.errors import AuthFailed
from smtpd import replies

log = logging.getLogger("smtpd")


class SmtpAuthenticator:
    """Checks one AUTH attempt and answers with an aiosmtpd ``AuthResult``."""

    def __init__(self, db: Database, throttle: LoginThrottle) -> None:
        self.db = db
        self.throttle = throttle

    def _verify(self, login: str, password: str) -> str | None:
        """The account's address if the password is right (blocking: Argon2 and SQL)."""
        try:
            with self.db.session() as session:
                return authenticate(session, login, password).address
        except AuthFailed:
            return None

    async def _throttle_begin(self, login: str, ip: str) -> ThrottleDecision:
        """Count the attempt; if the counters cannot be reached (store down), no limit."""
        try:
            return await asyncio.to_thread(self.throttle.begin, login, ip)
        except Exception as exc:
            log.warning("login throttle unavailable: %s: %s", type(exc).__name__, exc)
            return ThrottleDecision(False, 0.0)

    async def _throttle_note(self, record: Callable[[], None]) -> None:
        """Record a failure or success with the throttle, tolerating an unreachable store."""
        try:
            await asyncio.to_thread(record)
        except Exception as exc:
            log.warning("login throttle unavailable: %s: %s", type(exc).__name__, exc)

    async def check(self, ip: str, credentials: LoginPassword) -> AuthResult:
        """235 with the account as auth data, 535 on bad credentials, 454 when throttled."""
        login = credentials.login.decode("utf-8", "replace").strip()
        try:
            password: str | None = credentials.password.decode("utf-8")
        except UnicodeDecodeError:
            password = None
        decision = await self._throttle_begin(login, ip)
        if decision.blocked:
            await asyncio.sleep(decision.delay)
            log.warning("auth throttled login=%r client=%s", login[:100], ip)
            return AuthResult(success=False, handled=False, message=replies.AUTH_THROTTLED)
        await asyncio.sleep(decision.delay)
        address = None
        if password is not None and login:
            address = await asyncio.to_thread(self._verify, login, password)
        if address is None:
            await self._throttle_note(partial(self.throttle.failed, login, ip, decision))
            log.warning("auth failed login=%r client=%s", login[:100], ip)
            return AuthResult(success=False, handled=False, message=replies.AUTH_FAILED)
        await self._throttle_note(partial(self.throttle.succeeded, login, ip))
        log.info("auth ok user=%s client=%s", address, ip)
        return AuthResult(success=True, auth_data=address, message=replies.AUTH_OK)
