"""Headers as delivered: Received (with TLS and AUTH), Return-Path, Message-ID and Date."""

from __future__ import annotations

import email
import email.policy
import re
import smtplib

import pytest
from support.processes import wait_until
from support.smtp import ALICE, BOB, Server, client_tls, password_of, reply_of

from smtpd import replies

pytestmark = [pytest.mark.slow, pytest.mark.smtp_server(worker=True)]


def delivered(server: Server, user: str, subject: str) -> bytes:
    """The delivered bytes of the message with this subject (waits for it)."""
    found: list[bytes] = []

    def arrived() -> bool:
        found[:] = [raw for raw in server.messages(user) if f"Subject: {subject}".encode() in raw]
        return bool(found)

    assert wait_until(arrived, 30), server.output()
    assert len(found) == 1
    return found[0]


def test_submitted_mail_gets_received_with_tls_and_user_and_missing_headers(
    server: Server,
) -> None:
    with server.client("submission") as smtp:
        smtp.starttls(context=client_tls())
        smtp.login(ALICE, password_of(ALICE))
        smtp.sendmail(ALICE, [BOB], b"Subject: submitted\r\nTo: bob@example.test\r\n\r\nhi\r\n")
    raw = delivered(server, BOB, "submitted")
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert raw.startswith(b"Return-Path: <alice@example.test>\r\n")
    received = str(message["Received"])
    assert re.search(r"from c\S* \(\[127\.0\.0\.1\]\)", received) or "([127.0.0.1])" in received
    assert "by mx.example.test (mailrs) with ESMTPSA id " in received
    assert re.search(r"\(using TLSv1\.[23] with cipher \S+ \(\d+ bits\)\)", received), received
    assert "(Authenticated sender: alice@example.test)" in received
    assert "for <bob@example.test>;" in received
    assert message["Message-ID"] and message["Message-ID"].endswith("@mx.example.test>")
    assert message["Date"] is not None
    assert message["Subject"] == "submitted"


def test_existing_message_id_and_date_are_kept(server: Server) -> None:
    with server.tls_client() as smtp:
        smtp.login(ALICE, password_of(ALICE))
        smtp.sendmail(
            ALICE,
            [BOB],
            b"Message-ID: <mine@client.test>\r\nDate: Mon, 2 Nov 2026 10:00:00 +0000\r\n"
            b"Subject: kept\r\n\r\nhi\r\n",
        )
    message = email.message_from_bytes(delivered(server, BOB, "kept"), policy=email.policy.default)
    assert message.get_all("Message-ID") == ["<mine@client.test>"]
    assert len(message.get_all("Date") or []) == 1


def test_mx_mail_is_traced_without_auth_and_not_completed(server: Server) -> None:
    with server.client("mx") as smtp:
        smtp.helo("old.example.org")  # plain SMTP after HELO
        smtp.sendmail("bob@remote.test", [ALICE], b"Subject: by helo\r\n\r\nx\r\n")
    raw = delivered(server, ALICE, "by helo")
    message = email.message_from_bytes(raw, policy=email.policy.default)
    received = str(message["Received"])
    assert received.startswith("from old.example.org ([127.0.0.1])")
    assert " with SMTP id " in received
    assert "using" not in received and "Authenticated" not in received
    assert message["Message-ID"] is None  # relayed mail is not rewritten
    assert raw.startswith(b"Return-Path: <bob@remote.test>\r\n")


def test_smtputf8_and_8bitmime_over_starttls(server: Server) -> None:
    body = "Subject: grüße\r\n\r\nÇa marche, 日本語.\r\n".encode()
    with server.client("mx") as smtp:
        smtp.starttls(context=client_tls())
        smtp.ehlo("c.example.org")
        refused = smtp.sendmail(
            "bob@remote.test", [ALICE], body, mail_options=["SMTPUTF8", "BODY=8BITMIME"]
        )
        assert refused == {}
    raw = delivered(server, ALICE, "grüße")
    assert "Ça marche, 日本語.".encode() in raw
    received = str(email.message_from_bytes(raw, policy=email.policy.default)["Received"])
    assert " with UTF8SMTPS id " in received


def test_utf8_addresses_need_smtputf8(server: Server) -> None:
    body = "Subject: adresse accentuée\r\n\r\nSalut.\r\n".encode()

    def command(smtp: smtplib.SMTP, line: str) -> tuple[int, bytes]:
        smtp.send(line.encode() + b"\r\n")  # raw UTF-8, whatever smtplib would allow
        return smtp.getreply()

    with server.client("mx") as smtp:
        smtp.ehlo("c.example.org")
        refused = smtp.sendmail("josé@bücher.example", [ALICE], body, mail_options=["SMTPUTF8"])
        assert refused == {}
        code, reply = command(smtp, "MAIL FROM:<josé@bücher.example>")  # no SMTPUTF8
        assert (code, reply) == reply_of(replies.NEEDS_SMTPUTF8), reply
        code, reply = command(smtp, "MAIL FROM:<josé@bücher.example> SMTPUTF8")
        assert code == 250, reply
        code, reply = command(smtp, "RCPT TO:<jösé@example.test>")  # no such local user
        assert (code, reply) == reply_of(replies.NO_SUCH_USER), reply
        smtp.rset()
        command(smtp, "MAIL FROM:<bob@remote.test>")
        code, reply = command(smtp, "RCPT TO:<jösé@example.test>")  # UTF-8 without SMTPUTF8
        assert (code, reply) == reply_of(replies.NEEDS_SMTPUTF8), reply
    raw = delivered(server, ALICE, "adresse accentuée")
    assert raw.startswith("Return-Path: <josé@bücher.example>\r\n".encode())
