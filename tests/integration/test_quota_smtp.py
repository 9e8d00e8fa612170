"""Quotas over real SMTP: 452 4.2.2 at RCPT when full, 552 5.2.2 after DATA when the
message fits nobody, and a 5.2.2 bounce from delivery for a recipient it does not fit."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from email.message import EmailMessage

import pytest
from support.processes import wait_until
from support.smtp import ALICE, BOB, CAROL, Server

from mailrs.accounts.quota import set_quota
from mailrs.db.engine import Database

pytestmark = [pytest.mark.smtp_server(worker=True), pytest.mark.slow]


@pytest.fixture
def quotas(server: Server) -> Iterator[Database]:
    """The server's database; every quota set in a test is removed afterwards."""
    db = Database.from_settings(server.settings)
    yield db
    with db.session() as session:
        for user in (ALICE, BOB, CAROL):
            set_quota(session, user, None)
    db.dispose()


def quota(db: Database, address: str, size: int | None) -> None:
    """Set one account's quota."""
    with db.session() as session:
        set_quota(session, address, size)


def letter(to: list[str], body_size: int, subject: str) -> EmailMessage:
    """A message from carol with a body of ``body_size`` bytes."""
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = CAROL, ", ".join(to), subject
    message.set_content("x" * body_size)
    return message


def test_rcpt_refused_with_452_when_full(server: Server, quotas: Database) -> None:
    quota(quotas, BOB, 0)
    with server.client() as smtp:
        smtp.ehlo("client.example.org")
        smtp.mail(CAROL)
        code, text = smtp.rcpt(BOB)
        assert (code, text[:5]) == (452, b"4.2.2"), text
        assert smtp.rcpt(ALICE)[0] == 250  # another recipient of the same transaction


def test_data_refused_with_552_when_it_fits_nobody(server: Server, quotas: Database) -> None:
    quota(quotas, BOB, 500)
    with server.client() as smtp:
        smtp.ehlo("client.example.org")
        with pytest.raises(smtplib.SMTPDataError) as refused:
            smtp.send_message(letter([BOB], 2000, "too big"), CAROL, [BOB])
        assert refused.value.smtp_code == 552
        assert refused.value.smtp_error.startswith(b"5.2.2")
    assert server.count(BOB) == 0


def test_delivery_bounces_the_recipient_it_does_not_fit(server: Server, quotas: Database) -> None:
    quota(quotas, BOB, 500)
    alice_before, carol_before = server.count(ALICE), server.count(CAROL)
    with server.client() as smtp:
        smtp.ehlo("client.example.org")
        refused = smtp.send_message(letter([ALICE, BOB], 2000, "fits one"), CAROL, [ALICE, BOB])
    assert refused == {}  # one reply after DATA: it fits alice, so it is accepted
    assert server.wait_count(ALICE, alice_before + 1)
    assert wait_until(lambda: server.count(CAROL) > carol_before, 30)
    bounces = [m for m in server.messages(CAROL) if b"5.2.2" in m and BOB.encode() in m]
    assert len(bounces) == 1
    assert server.count(BOB) == 0  # the quota was never exceeded
