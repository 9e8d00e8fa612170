"""RCPT TO over real sockets: local users, aliases, catch-all, plus tags, no open relay."""

from __future__ import annotations

import subprocess

import pytest
from sqlalchemy import select
from support.services import require_tool
from support.smtp import (
    ALICE,
    BOB,
    CAROL,
    RawSession,
    Server,
    client_tls,
    password_of,
    reply_of,
    status,
)

from mailrs.db.engine import Database
from mailrs.db.models import Message
from smtpd import replies

pytestmark = pytest.mark.smtp_server(
    aliases=(
        ("team@example.test", ALICE),
        ("team@example.test", BOB),
        ("outside@example.test", "friend@remote.test"),
        ("@catchall.test", CAROL),
    ),
    MAILRS_SMTP_MAX_RECIPIENTS="3",
)


def rcpt_replies(server: Server, addresses: list[bytes]) -> list[bytes]:
    """Unauthenticated MX session: one MAIL, then each RCPT line's reply, exact bytes."""
    with RawSession(server, "mx") as raw:
        raw.command(b"EHLO c.example.org")
        assert raw.command(b"MAIL FROM:<sender@remote.test>").startswith(b"250")
        return [raw.command(b"RCPT TO:" + address) for address in addresses]


@pytest.mark.parametrize(
    ("address", "reply"),
    [
        (b"<alice@example.test>", status(replies.OK_RCPT)),
        (b"<ALICE@Example.TEST>", status(replies.OK_RCPT)),  # case-insensitive
        (b"<alice+lists@example.test>", status(replies.OK_RCPT)),  # plus-addressing
        (b"<team@example.test>", status(replies.OK_RCPT)),  # alias, one to many
        (b"<outside@example.test>", status(replies.OK_RCPT)),  # local alias to a remote address
        (b"<anything@catchall.test>", status(replies.OK_RCPT)),  # catch-all
        (b"<carol@example.org>", status(replies.OK_RCPT)),  # a user's own domain is local too
        (b"<nobody@example.test>", status(replies.NO_SUCH_USER)),
        (b"<nobody+tag@example.test>", status(replies.NO_SUCH_USER)),
        (b"<friend@remote.test>", status(replies.RELAY_DENIED)),  # no open relay
        (b"<Friend@REMOTE.test>", status(replies.RELAY_DENIED)),
    ],
)
def test_recipient_rules(server: Server, address: bytes, reply: bytes) -> None:
    (got,) = rcpt_replies(server, [address])
    assert got.startswith(reply), got


@pytest.mark.parametrize(
    "address",
    [
        b"<friend%remote.test@example.test>",  # percent hack
        b"<@example.test:friend@remote.test>",  # source route through us
        b"<@remote.test,@example.test:friend@remote.test>",
        b'<"friend@remote.test"@example.test>',  # quoted local part
        b'<"friend%remote.test"@example.test>',
        b"<remote.test!friend@example.test>",  # bang path
        b"<friend@remote.test@example.test>",
        b"<friend@[192.0.2.1]>",  # address literal
        b"<friend@remote.test>",
    ],
)
def test_relay_tricks_never_relay(server: Server, address: bytes) -> None:
    (got,) = rcpt_replies(server, [address])
    assert got[:1] == b"5", got
    assert got[:3] in (b"550", b"553", b"501"), got


def test_catch_all_does_not_turn_relay_tricks_into_relaying(server: Server) -> None:
    # In a catch-all domain the percent hack is just a local name: delivered to the
    # catch-all's owner, never forwarded to remote.test.
    with server.client("mx") as smtp:
        smtp.ehlo("c.example.org")
        smtp.mail("sender@remote.test")
        assert smtp.rcpt("friend%remote.test@catchall.test")[0] == 250
        assert smtp.data(b"Subject: x\r\n\r\nx\r\n")[0] == 250
    db = Database.from_settings(server.settings)
    with db.session() as session:
        message = session.scalars(select(Message).order_by(Message.id.desc())).first()
        assert message is not None
        assert [r.address for r in message.recipients] == ["friend%remote.test@catchall.test"]
    db.dispose()


def test_authenticated_sender_may_relay(server: Server) -> None:
    with server.client("mx") as smtp:
        smtp.starttls(context=client_tls())
        smtp.login(BOB, password_of(BOB))
        smtp.mail(BOB)
        assert smtp.rcpt("friend@remote.test") == reply_of(replies.OK_RCPT)
        assert smtp.rcpt("nobody@example.test")[0] == 550  # unknown local stays unknown


def test_too_many_recipients_get_452(server: Server) -> None:
    answers = rcpt_replies(
        server,
        [
            b"<alice@example.test>",
            b"<bob@example.test>",
            b"<team@example.test>",
            b"<carol@example.org>",
        ],
    )
    assert [r[:3] for r in answers[:3]] == [b"250"] * 3
    assert answers[3].startswith(status(replies.TOO_MANY_RECIPIENTS))


def test_rcpt_before_mail_and_bad_syntax(server: Server) -> None:
    with RawSession(server, "mx") as raw:
        raw.command(b"EHLO c.example.org")
        assert raw.command(b"RCPT TO:<alice@example.test>").startswith(b"503 5.5.1")
        raw.command(b"MAIL FROM:<sender@remote.test>")
        assert raw.command(b"RCPT TO:alice").startswith(status(replies.BAD_ADDRESS_SYNTAX))
        assert raw.command(b"RCPT TO:<>").startswith(status(replies.BAD_ADDRESS_SYNTAX))
        assert raw.command(b"RCPT TO:<alice@example.test> NOTIFY=MAYBE").startswith(b"501 5.5.4")
        assert raw.command(b"RCPT TO:<alice@example.test> COLOR=RED").startswith(b"555 5.5.4")


def test_swaks_sees_the_same_answers(server: Server) -> None:
    swaks = require_tool("swaks")
    host, port = server.addr("mx")

    def run(*args: str) -> str:
        result = subprocess.run(
            [swaks, "--server", f"{host}:{port}", "--from", "s@remote.test", "--tls", *args],
            capture_output=True,
            text=True,
            timeout=60,
        )
        return result.stdout

    assert replies.QUEUED.format(queue_id="") in run("--to", "team@example.test")
    assert replies.RELAY_DENIED in run("--to", "friend@remote.test")
    assert replies.NO_SUCH_USER in run("--to", "nobody@example.test")
    assert status(replies.BAD_ADDRESS_SYNTAX).decode() in run(
        "--to", '"friend@remote.test"@example.test'
    )
    authed = run(
        "--to",
        "friend@remote.test",
        "--auth-user",
        BOB,
        "--auth-password",
        password_of(BOB),
        "--from",
        BOB,
    )
    assert replies.QUEUED.format(queue_id="") in authed
