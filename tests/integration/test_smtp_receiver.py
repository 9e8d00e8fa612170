"""The SMTP receiver over real sockets: replies, bad input, envelope clean-up, shutdown."""

from __future__ import annotations

import smtplib
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from support.config import provision
from support.processes import Proc, python_m, running, service_env
from support.smtp import reply_of, status

from mailrs.config import Settings, load_settings, parse_hostport
from mailrs.db.engine import Database
from mailrs.db.models import Message
from smtpd import replies

ALICE = "alice@example.test"
BOB = "bob@example.test"


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[tuple[Settings, Proc]]:
    """A running smtpd (no worker: messages stay spooled) with two users."""
    config = provision(tmp_path, users=(ALICE, BOB))
    settings = load_settings(config, environ={})
    with running(
        python_m("smtpd", "--config", str(config)), "SMTP server listening", env=service_env(config)
    ) as proc:
        yield settings, proc


def client(settings: Settings) -> smtplib.SMTP:
    host, port = parse_hostport(settings.smtp.listen_addr)
    return smtplib.SMTP(host, port, timeout=30)


def rows(settings: Settings) -> list[Message]:
    db = Database.from_settings(settings)
    with db.session() as session:
        found = list(session.scalars(select(Message)))
        for message in found:
            assert message.recipients is not None
    db.dispose()
    return found


def raw_session(settings: Settings, lines: list[bytes]) -> list[bytes]:
    """Send raw command lines one by one; return the reply to each (first line)."""
    host, port = parse_hostport(settings.smtp.listen_addr)
    with socket.create_connection((host, port), timeout=30) as sock:
        reader = sock.makefile("rb")
        replies = [reader.readline()]
        for line in lines:
            sock.sendall(line + b"\r\n")
            reply = reader.readline()
            while reply[3:4] == b"-":
                reply = reader.readline()
            replies.append(reply)
        return replies


def test_ehlo_advertises_the_extensions(receiver: tuple[Settings, Proc]) -> None:
    settings, _ = receiver
    with client(settings) as smtp:
        code, _ = smtp.ehlo("client.example.org")
        assert code == 250
        for extension in ("size", "8bitmime", "smtputf8", "pipelining", "enhancedstatuscodes"):
            assert smtp.has_extn(extension), extension
        assert smtp.esmtp_features["size"] == str(settings.smtp.max_message_size)
        assert smtp.helo("client.example.org")[0] == 250


def test_recipient_replies(receiver: tuple[Settings, Proc]) -> None:
    settings, _ = receiver
    with client(settings) as smtp:
        smtp.ehlo("client.example.org")
        assert smtp.mail("sender@remote.test")[0] == 250
        assert smtp.rcpt("nobody@example.test") == reply_of(replies.NO_SUCH_USER)
        assert smtp.rcpt("someone@elsewhere.test") == reply_of(replies.RELAY_DENIED)
        assert smtp.rcpt("no-domain")[0] == 553
        assert smtp.rcpt("two@@example.test")[0] == 553
        assert smtp.rcpt("Alice@EXAMPLE.test") == reply_of(replies.OK_RCPT)


def test_null_sender_and_duplicate_recipients(receiver: tuple[Settings, Proc]) -> None:
    settings, _ = receiver
    with client(settings) as smtp:
        refused = smtp.sendmail(
            "<>", [ALICE, "ALICE@example.test", ALICE, BOB], b"Subject: x\r\n\r\nx\r\n"
        )
    assert refused == {}
    (message,) = rows(settings)
    assert message.mail_from == ""
    assert [r.address for r in message.recipients] == [ALICE, BOB]


def test_bad_bytes_and_long_paths_get_5xx_and_leave_nothing(
    receiver: tuple[Settings, Proc],
) -> None:
    settings, proc = receiver
    answers = raw_session(
        settings,
        [
            b"EHLO \xff\xfe",
            b"EHLO ok.example.org",
            b"MAIL FROM:<\xff@remote.test>",
            b"MAIL FROM:<" + b"a" * 300 + b"@remote.test>",
            b"MAIL FROM:<fine@remote.test>",
            b"RCPT TO:<alice\x00@example.test>",
            b"QUIT",
        ],
    )
    assert answers[1].startswith(status(replies.BAD_BYTES))
    assert answers[2].startswith(b"250")
    assert answers[3][:1] == b"5" and answers[4][:1] == b"5"
    assert answers[5].startswith(b"250")
    assert answers[6][:1] == b"5"
    assert rows(settings) == []
    assert list((settings.spool_path / "queue").iterdir()) == []
    assert "Traceback" not in proc.output


def test_bare_line_endings_are_refused(receiver: tuple[Settings, Proc]) -> None:
    settings, _ = receiver
    host, port = parse_hostport(settings.smtp.listen_addr)
    with socket.create_connection((host, port), timeout=30) as sock:
        reader = sock.makefile("rb")
        reader.readline()
        sock.sendall(b"HELO c.example.org\r\nMAIL FROM:<a@remote.test>\r\n")
        sock.sendall(f"RCPT TO:<{ALICE}>\r\nDATA\r\n".encode())
        for _ in range(4):
            reader.readline()
        # A smuggling attempt: <LF>.<LF> inside the data must not end the message.
        sock.sendall(b"Subject: a\r\n\r\nbody\n.\nMAIL FROM:<evil@remote.test>\r\n.\r\n")
        assert reader.readline().startswith(status(replies.BARE_LINE_ENDING))
    assert rows(settings) == []


def test_database_trouble_is_a_temporary_failure(tmp_path: Path) -> None:
    config = provision(tmp_path, users=(ALICE,))
    env = service_env(config, MAILRS_DATABASE_URL="postgresql+psycopg://nobody@127.0.0.1:1/x")
    settings = load_settings(config, environ={})
    with (
        running(
            python_m("smtpd", "--config", str(config)), "SMTP server listening", env=env
        ) as proc,
        client(settings) as smtp,
    ):
        smtp.ehlo("c.example.org")
        smtp.mail("a@remote.test")
        code, text = smtp.rcpt(ALICE)
        assert (code, text) == reply_of(replies.LOCAL_ERROR)
        assert b"127.0.0.1" not in text and b"psycopg" not in text
    assert "session error" in proc.output


def test_require_auth_refuses_mail_without_auth(tmp_path: Path) -> None:
    config = provision(tmp_path, users=(ALICE,))
    env = service_env(config, MAILRS_SMTP_REQUIRE_AUTH="true")
    settings = load_settings(config, environ={})
    with (
        running(python_m("smtpd", "--config", str(config)), "SMTP server listening", env=env),
        client(settings) as smtp,
    ):
        smtp.ehlo("c.example.org")
        assert smtp.mail("a@remote.test") == reply_of(replies.AUTH_REQUIRED)


def test_sigterm_with_an_idle_client_closes_it_with_421(receiver: tuple[Settings, Proc]) -> None:
    settings, proc = receiver
    host, port = parse_hostport(settings.smtp.listen_addr)
    with socket.create_connection((host, port), timeout=30) as sock:
        reader = sock.makefile("rb")
        reader.readline()
        started = time.monotonic()
        proc.popen.terminate()
        assert reader.readline().startswith(status(replies.SHUTTING_DOWN))
        assert proc.popen.wait(timeout=15) == 0
        assert time.monotonic() - started < 12


def test_allow_insecure_auth_offers_auth_without_tls(tmp_path: Path) -> None:
    config = provision(tmp_path, users=(ALICE,))
    env = service_env(config, MAILRS_SMTP_ALLOW_INSECURE_AUTH="true")
    settings = load_settings(config, environ={})
    with (
        running(python_m("smtpd", "--config", str(config)), "SMTP server listening", env=env),
        client(settings) as smtp,
    ):
        smtp.ehlo("c.example.org")
        assert not smtp.has_extn("starttls")
        assert smtp.esmtp_features["auth"].split() == ["LOGIN", "PLAIN"]
        assert smtp.login(ALICE, "alice password")[0] == 235


def test_auth_disabled_and_submission_without_tls(tmp_path: Path) -> None:
    config = provision(tmp_path, users=(ALICE,))
    settings = load_settings(config, environ={})
    env = service_env(config, MAILRS_SMTP_ENABLE_AUTH="false")
    with running(python_m("smtpd", "--config", str(config)), "SMTP server listening", env=env):
        with client(settings) as smtp:
            smtp.ehlo("c.example.org")
            assert not smtp.has_extn("auth")
            assert smtp.docmd("AUTH", "PLAIN AGFAYgBj") == reply_of(replies.AUTH_UNAVAILABLE)
        host, port = parse_hostport(settings.smtp.submission_addr)
        with smtplib.SMTP(host, port, timeout=30) as smtp:
            smtp.ehlo("c.example.org")
            assert not smtp.has_extn("auth") and not smtp.has_extn("starttls")
            assert smtp.mail(ALICE) == reply_of(replies.AUTH_REQUIRED)


def test_development_mode_creates_a_missing_certificate_pair(tmp_path: Path) -> None:
    config = provision(tmp_path, users=(ALICE,))
    cert, key = tmp_path / "data" / "tls" / "cert.pem", tmp_path / "data" / "tls" / "key.pem"
    env = service_env(
        config,
        MAILRS_SMTP_ENABLE_TLS="true",
        MAILRS_SMTP_TLS_CERT_PATH="data/tls/cert.pem",
        MAILRS_SMTP_TLS_KEY_PATH="data/tls/key.pem",
    )
    settings = load_settings(config, environ={})
    with running(
        python_m("smtpd", "--config", str(config)), "SMTP server listening", env=env
    ) as proc:
        assert "created a self-signed development certificate" in proc.output
        assert cert.exists() and key.stat().st_mode & 0o077 == 0
        with client(settings) as smtp:
            context = ssl.create_default_context(cafile=str(cert))
            context.check_hostname = False  # the pair names mx.example.test and 127.0.0.1
            assert smtp.starttls(context=context)[0] == 220
            smtp.ehlo("c.example.org")
            assert smtp.has_extn("auth")


def test_production_mode_refuses_a_missing_certificate(tmp_path: Path) -> None:
    config = provision(tmp_path)
    env = service_env(
        config,
        MAILRS_MODE="production",
        MAILRS_API_JWT_SECRET="a-production-secret-for-tests",
        MAILRS_SMTP_ENABLE_TLS="true",
        MAILRS_SMTP_TLS_CERT_PATH="missing/cert.pem",
        MAILRS_SMTP_TLS_KEY_PATH="missing/key.pem",
    )
    result = subprocess.run(
        [sys.executable, "-m", "smtpd", "--config", str(config)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("smtpd: cannot load TLS certificate ")
    assert result.stderr.count("\n") == 1
    assert not (tmp_path / "missing").exists()
