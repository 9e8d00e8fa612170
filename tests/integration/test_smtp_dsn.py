"""DSN (RFC 3461) and REQUIRETLS (RFC 8689) parameters on a real smtpd: raw socket and smtplib.

The parameters keep their case (aiosmtpd upper-cases what it parses), bad values get 501
with an enhanced status, and what was accepted is stored on the message and recipient rows.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select
from support.smtp import ALICE, BOB, RawSession, Server, client_tls

from mailrs.db.engine import Database
from mailrs.db.models import Message

BODY = b"From: x@remote.test\r\nTo: alice@example.test\r\nSubject: dsn\r\n\r\nhello\r\n"


def stored(server: Server, queue_id: str) -> Message:
    db = Database.from_settings(server.settings)
    try:
        with db.session() as session:
            message = session.scalar(select(Message).where(Message.queue_id == queue_id))
            assert message is not None and message.recipients
            return message
    finally:
        db.dispose()


def ehlo_lines(raw: RawSession) -> list[bytes]:
    raw.send(b"EHLO client.remote.test\r\n")
    lines = [raw.reader.readline()]
    while lines[-1][3:4] == b"-":
        lines.append(raw.reader.readline())
    return [line[4:].strip() for line in lines]


def test_dsn_is_offered_requiretls_only_after_tls(server: Server) -> None:
    with RawSession(server) as raw:
        offered = ehlo_lines(raw)
    assert b"DSN" in offered and b"REQUIRETLS" not in offered
    with server.client() as client:
        client.ehlo("client.remote.test")
        client.starttls(context=client_tls())
        client.ehlo("client.remote.test")
        assert client.has_extn("dsn") and client.has_extn("requiretls")


def test_parameters_are_kept_with_their_case_and_stored(server: Server) -> None:
    with RawSession(server) as raw:
        ehlo_lines(raw)
        reply = raw.command(b"MAIL FROM:<x@remote.test> ret=hdrs ENVID=Qx+2BId.42 SIZE=100")
        assert reply.startswith(b"250"), reply
        reply = raw.command(
            b"RCPT TO:<alice@example.test> NOTIFY=success,Delay"
            b" ORCPT=rfc822;Alice+2BTag@Example.Test"
        )
        assert reply.startswith(b"250"), reply
        assert raw.command(b"RCPT TO:<bob@example.test>").startswith(b"250")
        assert raw.command(b"DATA").startswith(b"354")
        reply = raw.command(BODY + b".")
        assert reply.startswith(b"250"), reply
        queue_id = reply.split()[-1].decode()
    message = stored(server, queue_id)
    assert (message.dsn_ret, message.dsn_envid, message.require_tls) == ("HDRS", "Qx+Id.42", False)
    by_address = {r.address: (r.notify, r.orcpt) for r in message.recipients}
    assert by_address == {
        ALICE: ("SUCCESS,DELAY", "rfc822;Alice+Tag@Example.Test"),
        BOB: ("", ""),
    }


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (b"MAIL FROM:<x@remote.test> RET=BODY", b"501 5.5.4 RET must be FULL or HDRS"),
        (b"MAIL FROM:<x@remote.test> RET", b"501 5.5.4 RET must be"),
        (b"MAIL FROM:<x@remote.test> ENVID=a=b", b"501 5.5.4 ENVID is not valid xtext"),
        (b"MAIL FROM:<x@remote.test> ENVID=a+zz", b"501 5.5.4 ENVID is not valid xtext"),
        (b"MAIL FROM:<x@remote.test> ENVID=" + b"x" * 101, b"501 5.5.4 ENVID must be 1 to 100"),
        (b"MAIL FROM:<x@remote.test> RET=FULL RET=HDRS", b"501 5.5.4 Duplicate RET"),
        (b"MAIL FROM:<x@remote.test> REQUIRETLS", b"530 5.7.10 REQUIRETLS needs a TLS"),
        (b"MAIL FROM:<x@remote.test> NOTIFY=NEVER", b"555 5.5.4"),
    ],
)
def test_bad_mail_parameters(server: Server, command: bytes, expected: bytes) -> None:
    with RawSession(server) as raw:
        ehlo_lines(raw)
        assert raw.command(command).startswith(expected)
        assert raw.command(b"MAIL FROM:<x@remote.test>").startswith(b"250")  # no MAIL was kept


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (b"NOTIFY=NEVER,SUCCESS", b"501 5.5.4 NOTIFY must be NEVER or a list"),
        (b"NOTIFY=SUCCESS,SUCCESS", b"501 5.5.4 NOTIFY must be"),
        (b"NOTIFY=", b"501 5.5.4 NOTIFY must be"),
        (b"ORCPT=bob@example.org", b"501 5.5.4 ORCPT must be addr-type;xtext"),
        (b"ORCPT=rfc822;", b"501 5.5.4 ORCPT must be addr-type;xtext"),
        (b"ORCPT=rfc822;a+0Ab@x", b"501 5.5.4 ORCPT address has control characters"),
        (b"RET=FULL", b"555 5.5.4"),
    ],
)
def test_bad_rcpt_parameters(server: Server, params: bytes, expected: bytes) -> None:
    with RawSession(server) as raw:
        ehlo_lines(raw)
        assert raw.command(b"MAIL FROM:<x@remote.test>").startswith(b"250")
        assert raw.command(b"RCPT TO:<alice@example.test> " + params).startswith(expected)
        assert raw.command(b"RCPT TO:<alice@example.test>").startswith(b"250")


def test_requiretls_over_starttls_is_stored(server: Server) -> None:
    with server.client() as client:
        client.ehlo("client.remote.test")
        client.starttls(context=client_tls())
        client.ehlo("client.remote.test")
        code, _ = client.mail("x@remote.test", ["REQUIRETLS", "RET=FULL"])
        assert code == 250
        code, _ = client.rcpt(ALICE, ["NOTIFY=NEVER"])
        assert code == 250
        code, text = client.data(BODY)
        assert code == 250
        queue_id = text.decode().split()[-1]
        code, text = client.mail("x@remote.test", ["REQUIRETLS=yes"])
        assert (code, text[:5]) == (501, b"5.5.4")
    message = stored(server, queue_id)
    assert message.require_tls and message.dsn_ret == "FULL"
    assert [r.notify for r in message.recipients] == ["NEVER"]
