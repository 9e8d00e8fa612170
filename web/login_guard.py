"""Password checks for the web login form and the token endpoint, throttled per account and IP.

``mailrs.accounts.throttle.LoginThrottle`` counts each attempt before the password is
checked; each earlier failure makes the next answer wait longer, and past the limits the
login is refused with a clear message without checking the password. The Argon2 check
runs off the gevent hub (``web.offload``), so other sockets are served meanwhile.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from functools import partial

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from mailrs.accounts.passwords import verify_password
from mailrs.accounts.throttle import LoginThrottle
from mailrs.accounts.users import authenticate
from mailrs.db.models import LoginEvent, User
from mailrs.errors import AuthFailed
from mailrs.metrics.instruments import instruments
from web.offload import off_hub

log = logging.getLogger(__name__)
LOGIN_FAILED = "Wrong email address or password."


class LoginThrottled(Exception):
    """Too many failed logins: ``retry_after`` seconds until the next try is allowed."""

    def __init__(self, retry_after: float) -> None:
        self.retry_after = max(1, math.ceil(retry_after))
        minutes = math.ceil(self.retry_after / 60)
        super().__init__(
            "Too many failed logins for this account or network. "
            f"Try again in {minutes} minute{'s' if minutes != 1 else ''}."
        )


@dataclass(frozen=True)
class LoggedIn:
    """The account whose password was right."""

    id: int
    address: str


def check_login(
    session: Session,
    throttle: LoginThrottle,
    address: str,
    password: str,
    ip: str,
    via: str = "web",
) -> LoggedIn:
    """The account if the password is right; AuthFailed or LoginThrottled otherwise.

    Every attempt is recorded in ``login_events`` (the audit trail an admin reads).
    """
    account = address.strip().lower()[:254]
    decision = throttle.begin(account, ip)
    if decision.blocked:
        record_login(session, account, ip, via, "throttled")
        raise LoginThrottled(decision.retry_after)
    if decision.delay:
        time.sleep(decision.delay)  # a greenlet sleep under gevent
    try:
        verify = partial(off_hub, verify_password)
        user: User = authenticate(session, address, password, verify=verify)
    except AuthFailed:
        throttle.failed(account, ip, decision)
        record_login(session, account, ip, via, "failed")
        raise
    throttle.succeeded(account, ip)
    record_login(session, user.address, ip, via, "ok")
    return LoggedIn(user.id, user.address)


def record_login(session: Session, address: str, ip: str, via: str, outcome: str) -> None:
    """Add one row to the login audit trail (a failure to write it never blocks a login)."""
    instruments().web_logins.labels(via, outcome).inc()
    try:
        session.add(
            LoginEvent(address=address[:254], client_addr=ip[:64], via=via, outcome=outcome)
        )
        session.commit()
    except SQLAlchemyError as exc:
        session.rollback()
        log.warning("cannot record login event for %s: %s", address, exc)
