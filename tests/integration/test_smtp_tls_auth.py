"""Listeners, STARTTLS, implicit TLS and AUTH over real sockets (smtplib, swaks, raw bytes)."""

from __future__ import annotations

import base64
import re
import smtplib
import ssl
import subprocess
import warnings
from pathlib import Path

import pytest
from sqlalchemy import select
from support.processes import wait_until
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

MESSAGE = b"Subject: hi\r\n\r\nhello\r\n"


pytestmark = pytest.mark.smtp_server(
    aliases=(("sales@example.test", ALICE),), MAILRS_AUTH_MAX_FAILURES_PER_ACCOUNT="3"
)


def rows(server: Server) -> list[Message]:
    db = Database.from_settings(server.settings)
    with db.session() as session:
        found = list(session.scalars(select(Message).order_by(Message.id)))
    db.dispose()
    return found


def test_mx_ehlo_before_and_after_starttls(server: Server) -> None:
    with server.client("mx") as smtp:
        code, _ = smtp.ehlo("client.example.org")
        assert code == 250
        for extension in (
            "size",
            "8bitmime",
            "pipelining",
            "smtputf8",
            "enhancedstatuscodes",
            "starttls",
        ):
            assert smtp.has_extn(extension), extension
        assert smtp.esmtp_features["size"] == str(server.settings.smtp.max_message_size)
        assert not smtp.has_extn("auth"), "AUTH must not be offered before TLS"
        assert smtp.starttls(context=client_tls())[0] == 220
        smtp.ehlo("client.example.org")
        assert not smtp.has_extn("starttls")
        assert smtp.esmtp_features["auth"].split() == ["LOGIN", "PLAIN"]
        # The TLS is 1.2 or newer.
        assert smtp.sock.version() in ("TLSv1.2", "TLSv1.3")  # type: ignore[union-attr]


def test_tls_older_than_1_2_is_refused(server: Server) -> None:
    context = client_tls()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = ssl.TLSVersion.TLSv1
        context.maximum_version = ssl.TLSVersion.TLSv1_1
    with server.client("mx") as smtp:
        smtp.ehlo("client.example.org")
        with pytest.raises((ssl.SSLError, OSError, smtplib.SMTPServerDisconnected)):
            smtp.starttls(context=context)


def test_auth_before_tls_is_refused_and_not_advertised(server: Server) -> None:
    with RawSession(server, "mx") as raw:
        assert raw.command(b"EHLO c.example.org").startswith(b"250 ")
        blob = base64.b64encode(f"\0{ALICE}\0{password_of(ALICE)}".encode())
        assert raw.command(b"AUTH PLAIN " + blob).startswith(status(replies.AUTH_NEEDS_TLS))


def test_submission_requires_starttls_then_auth(server: Server) -> None:
    with RawSession(server, "submission") as raw:
        assert raw.greeting.startswith(b"220 mx.example.test")
        raw.command(b"EHLO c.example.org")
        assert raw.command(b"MAIL FROM:<alice@example.test>").startswith(
            status(replies.STARTTLS_FIRST)
        )
    with server.client("submission") as smtp:
        smtp.starttls(context=client_tls())
        smtp.ehlo("c.example.org")
        assert smtp.mail(ALICE) == reply_of(replies.AUTH_REQUIRED)
        smtp.rset()
        smtp.login(ALICE, password_of(ALICE))
        assert smtp.sendmail(ALICE, [BOB], MESSAGE) == {}


def test_auth_plain_and_login_with_smtplib(server: Server) -> None:
    for mechanism in ("PLAIN", "LOGIN"):
        with server.tls_client() as smtp:
            smtp.ehlo("c.example.org")
            assert not smtp.has_extn("starttls")
            assert smtp.has_extn("auth")
            smtp.user, smtp.password = ALICE, password_of(ALICE)
            method = smtp.auth_plain if mechanism == "PLAIN" else smtp.auth_login
            assert smtp.auth(mechanism, method) == reply_of(replies.AUTH_OK)
            assert smtp.mail(ALICE)[0] == 250
            # A second AUTH and AUTH inside a transaction are refused.
            assert smtp.docmd("AUTH", "PLAIN")[0] == 503


def test_auth_with_swaks_on_both_submission_ports(server: Server) -> None:
    swaks = require_tool("swaks")
    host, port = server.addr("submission")
    _, tls_port = server.addr("submissions")
    for args in (
        ["--server", f"{host}:{port}", "--tls", "--auth", "LOGIN"],
        ["--server", f"{host}:{tls_port}", "--tlsc", "--auth", "PLAIN"],
    ):
        result = subprocess.run(
            [
                swaks,
                *args,
                "--auth-user",
                ALICE,
                "--auth-password",
                password_of(ALICE),
                "--from",
                ALICE,
                "--to",
                BOB,
                "--helo",
                "swaks.example.org",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert replies.AUTH_OK in result.stdout
        assert replies.QUEUED.format(queue_id="") in result.stdout


def test_wrong_password_535_then_throttled_454(server: Server) -> None:
    # The account's failures count across connections; the right password then waits.
    with server.tls_client() as smtp:
        smtp.ehlo("c.example.org")
        smtp.user, smtp.password = CAROL, "not the password"
        for _ in range(3):
            with pytest.raises(smtplib.SMTPAuthenticationError) as failed:
                smtp.auth("PLAIN", smtp.auth_plain)
            assert failed.value.smtp_code == 535
            assert failed.value.smtp_error == reply_of(replies.AUTH_FAILED)[1]
    with server.tls_client() as smtp:
        smtp.ehlo("c.example.org")
        with pytest.raises(smtplib.SMTPAuthenticationError) as blocked:
            smtp.login(CAROL, password_of(CAROL))
        assert blocked.value.smtp_code == 454
        assert blocked.value.smtp_error == reply_of(replies.AUTH_THROTTLED)[1]
    # Another account from the same address is not locked out by CAROL's failures.
    with server.tls_client() as smtp:
        smtp.login(BOB, password_of(BOB))


def test_bad_auth_input_gets_501_or_535_never_a_traceback(server: Server) -> None:
    with RawSession(server, "submission") as raw:
        raw.command(b"EHLO c.example.org")
        assert raw.command(b"STARTTLS").startswith(status(replies.START_TLS))
    with server.tls_client() as smtp:
        smtp.ehlo("c.example.org")
        assert smtp.docmd("AUTH", "PLAIN !!notbase64!!")[0] == 501
        assert smtp.docmd("AUTH", "PLAIN " + base64.b64encode(b"no-nuls").decode())[0] == 501
        bad_utf8 = base64.b64encode(b"\0" + BOB.encode() + b"\0\xff\xfe").decode()
        assert smtp.docmd("AUTH", "PLAIN " + bad_utf8)[0] == 535
        assert smtp.docmd("AUTH", "CRAM-MD5")[0] == 504
        assert smtp.docmd("AUTH", "LOGIN")[0] == 334
        assert smtp.docmd("*")[0] == 501
    assert "Traceback" not in server.output()


def test_sender_must_belong_to_the_authenticated_user(server: Server) -> None:
    with server.tls_client() as smtp:
        smtp.login(ALICE, password_of(ALICE))
        assert smtp.mail(BOB) == reply_of(replies.SENDER_NOT_OWNED)
        smtp.rset()
        assert smtp.mail("alice+news@example.test")[0] == 250
        smtp.rset()
        assert smtp.mail("sales@example.test")[0] == 250  # an alias that reaches alice
        smtp.rset()
        assert smtp.mail("someone@remote.test")[0] == 553
        smtp.rset()
        # Authenticated senders may relay to other domains.
        assert smtp.mail(ALICE)[0] == 250
        assert smtp.rcpt("friend@remote.test") == reply_of(replies.OK_RCPT)


def test_plaintext_pipelined_after_starttls_is_discarded(server: Server) -> None:
    context = client_tls()
    with RawSession(server, "mx") as raw:
        raw.command(b"EHLO c.example.org")
        # STARTTLS and an injected command in one packet (CVE-2011-0411 style).
        raw.send(b"STARTTLS\r\nMAIL FROM:<evil@remote.test>\r\n")
        assert raw.reply().startswith(status(replies.START_TLS))
        tls = context.wrap_socket(raw.sock, server_hostname="mx.example.test")
        reader = tls.makefile("rb")
        tls.sendall(b"EHLO c.example.org\r\n")
        line = reader.readline()
        assert line.startswith(b"250-mx.example.test"), line  # not a reply to the injection
        while line[3:4] == b"-":
            line = reader.readline()
        tls.sendall(b"MAIL FROM:<good@remote.test>\r\n")
        assert reader.readline().startswith(
            status(replies.OK_SENDER)
        )  # no "nested MAIL" from the injection
        tls.sendall(b"STARTTLS\r\n")
        assert reader.readline().startswith(b"503 5.5.1")  # never a second TLS layer
        reader.close()
        tls.close()


def test_implicit_tls_port_reports_tls_on_the_row(server: Server, tmp_path: Path) -> None:
    with server.tls_client() as smtp:
        smtp.login(BOB, password_of(BOB))
        assert smtp.sendmail(BOB, [ALICE], b"Subject: tls row\r\n\r\nx\r\n") == {}
    message = next(m for m in reversed(rows(server)) if m.mail_from == BOB)
    assert message.protocol == "ESMTPSA"
    assert message.tls.startswith("TLSv1.")
    assert message.auth_user == BOB

    # One structured log line for the transaction (written as the transaction ends, and
    # read from smtpd's output by a thread of the harness: wait for it).
    def logged() -> list[str]:
        return [x for x in server.output().splitlines() if f"queue_id={message.queue_id}" in x]

    assert wait_until(logged, timeout=30), server.output()[-3000:]
    line = logged()[0]
    assert re.search(
        r"transaction queue_id=\w+ client=127\.0\.0\.1 helo=\S+ tls=TLSv1\.[23]/\S+/\d+"
        r" auth=bob@example\.test from=<bob@example\.test> to=<alice@example\.test>"
        r" size=\d+ result=queued$",
        line,
    ), line
