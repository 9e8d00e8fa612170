"""One throttle for smtpd, imapd and web (the database on the embedded default), counted
before the password check: real smtplib, imaplib and HTTP clients from several loopback
addresses."""

from __future__ import annotations

import contextlib
import imaplib
import smtplib
import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select
from support.gunicorn import WebServer, api_token, gunicorn_web
from support.processes import python_m, running
from support.smtp import ALICE, BOB, CAROL, Server, password_of, smtp_server

from mailrs.config import parse_hostport
from mailrs.db.engine import Database
from mailrs.db.models import LoginEvent

pytestmark = pytest.mark.slow
LIMIT = 3


@dataclass
class Stack:
    smtp: Server
    web: WebServer
    imap: tuple[str, int]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with ExitStack() as stack:
        smtp = stack.enter_context(
            smtp_server(
                tmp_path_factory.mktemp("throttle"),
                tls=False,
                MAILRS_SMTP_ALLOW_INSECURE_AUTH="true",
                MAILRS_AUTH_MAX_FAILURES_PER_ACCOUNT=str(LIMIT),
                MAILRS_AUTH_MAX_FAILURES_PER_IP="1000",
                MAILRS_AUTH_BASE_DELAY_SECS="0",
            )
        )
        stack.enter_context(
            running(
                python_m("imapd", "--config", str(smtp.config)),
                "IMAP server listening",
                env=smtp.env,
            )
        )
        web = stack.enter_context(gunicorn_web(smtp.config, **smtp.extra))
        yield Stack(smtp, web, parse_hostport(smtp.settings.imap.listen_addr))


def smtp_auth(stack: Stack, user: str, secret: str, source: str) -> int:
    host, port = stack.smtp.addr("submission")
    with smtplib.SMTP(host, port, timeout=30, source_address=(source, 0)) as client:
        client.ehlo("client.test")
        client.user, client.password = user, secret
        # one AUTH PLAIN per call (login() would try LOGIN after a failed PLAIN)
        try:
            return client.auth("PLAIN", client.auth_plain, initial_response_ok=True)[0]
        except smtplib.SMTPAuthenticationError as exc:
            return exc.smtp_code


class SourcedIMAP4(imaplib.IMAP4):
    """imaplib connecting from a chosen loopback address."""

    def __init__(self, host: str, port: int, source: str) -> None:
        self._source = source
        super().__init__(host, port, timeout=30)

    def _create_socket(self, timeout: float | None) -> socket.socket:
        return socket.create_connection(
            (self.host, self.port), timeout, source_address=(self._source, 0)
        )


def imap_login(stack: Stack, user: str, secret: str, source: str) -> str:
    """OK, or the response code of the NO (AUTHENTICATIONFAILED, UNAVAILABLE)."""
    host, port = stack.imap
    client = SourcedIMAP4(host, port, source)
    try:
        client.login(user, secret)
        client.logout()
        return "OK"
    except imaplib.IMAP4.error as exc:
        text = str(exc)
        return text[text.find("[") + 1 : text.find("]")] if "[" in text else text
    finally:
        with contextlib.suppress(OSError):
            client.shutdown()


def test_guesses_from_one_address_never_lock_the_owner_out_of_another(stack: Stack) -> None:
    for _ in range(LIMIT):
        assert smtp_auth(stack, ALICE, "wrong password", "127.0.0.1") == 535
    # the same account from the same address is refused by every service: one store
    assert smtp_auth(stack, ALICE, password_of(ALICE), "127.0.0.1") == 454
    assert imap_login(stack, ALICE, password_of(ALICE), "127.0.0.1") == "UNAVAILABLE"
    assert api_token(stack.web, ALICE, password_of(ALICE), "127.0.0.1")[0] == 429
    # the owner's own address still gets in everywhere
    assert smtp_auth(stack, ALICE, password_of(ALICE), "127.0.0.2") == 235
    assert imap_login(stack, ALICE, password_of(ALICE), "127.0.0.2") == "OK"
    assert api_token(stack.web, ALICE, password_of(ALICE), "127.0.0.2")[0] == 200


def test_imap_failures_count_for_the_web_too(stack: Stack) -> None:
    for _ in range(LIMIT):
        assert imap_login(stack, BOB, "wrong password", "127.0.0.5") == "AUTHENTICATIONFAILED"
    assert api_token(stack.web, BOB, password_of(BOB), "127.0.0.5")[0] == 429
    assert api_token(stack.web, BOB, password_of(BOB), "127.0.0.6")[0] == 200


def test_200_parallel_web_guesses_get_at_most_the_allowed_password_checks(stack: Stack) -> None:
    with ThreadPoolExecutor(max_workers=50) as pool:
        statuses = list(
            pool.map(
                lambda _: api_token(stack.web, CAROL, "wrong password", "127.0.0.3")[0],
                range(200),
            )
        )
    assert statuses.count(401) <= LIMIT and statuses.count(429) >= 200 - LIMIT
    assert set(statuses) <= {401, 429}
    # every real password check is one "failed" row of the login audit trail
    db = Database.from_settings(stack.smtp.settings)
    with db.session() as session:
        outcomes = dict(
            session.execute(
                select(LoginEvent.outcome, func.count())
                .where(LoginEvent.address == CAROL)
                .group_by(LoginEvent.outcome)
            ).all()
        )
    db.dispose()
    assert outcomes.get("failed", 0) <= LIMIT
    assert outcomes.get("failed", 0) + outcomes.get("throttled", 0) == 200


def test_50_parallel_imap_guesses_get_at_most_the_allowed_password_checks(stack: Stack) -> None:
    with ThreadPoolExecutor(max_workers=25) as pool:
        answers = list(pool.map(lambda _: imap_login(stack, BOB, "wrong", "127.0.0.7"), range(50)))
    assert answers.count("AUTHENTICATIONFAILED") <= LIMIT
    assert answers.count("UNAVAILABLE") >= 50 - LIMIT
