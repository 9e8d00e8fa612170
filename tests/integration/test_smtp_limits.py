"""Connection limits, command and DATA timeouts, and message rate limits (memory and Redis)."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
from support.brokers import BROKERS, broker_url_for
from support.processes import wait_until
from support.smtp import ALICE, RawSession, Server, password_of, reply_of, smtp_server, status

from smtpd import replies

pytestmark = pytest.mark.smtp_server(
    MAILRS_SMTP_MAX_CONNECTIONS="3",
    MAILRS_SMTP_MAX_CONNECTIONS_PER_IP="2",
    MAILRS_SMTP_TIMEOUT_SECS="2",
    MAILRS_SMTP_DATA_TIMEOUT_SECS="4",
)


def connect(server: Server, source: str = "127.0.0.1") -> tuple[socket.socket, bytes]:
    """A connection from ``source`` and its first line (greeting or refusal)."""
    sock = socket.create_connection(server.addr("mx"), timeout=30, source_address=(source, 0))
    return sock, sock.makefile("rb").readline()


def test_connections_per_ip_and_overall_get_421(server: Server) -> None:
    opened: list[socket.socket] = []
    try:
        for source in ("127.0.0.1", "127.0.0.1"):
            sock, line = connect(server, source)
            opened.append(sock)
            assert line.startswith(b"220 "), line
        sock, line = connect(server, "127.0.0.1")
        assert line.startswith(status(replies.TOO_MANY_CONNECTIONS)), line  # third from one address
        sock.close()
        sock, line = connect(server, "127.0.0.2")
        opened.append(sock)
        assert line.startswith(b"220 "), line
        sock, line = connect(server, "127.0.0.3")
        assert line.startswith(status(replies.TOO_MANY_CONNECTIONS)), line  # fourth overall
        sock.close()
        opened.pop(0).close()

        def slot_free() -> bool:
            sock, line = connect(server, "127.0.0.3")
            if line.startswith(b"220 "):
                opened.append(sock)
                return True
            sock.close()
            return False

        assert wait_until(slot_free, 10), "a closed connection must free its slot"
    finally:
        for sock in opened:
            sock.close()


@pytest.mark.slow
def test_idle_command_timeout_closes_with_421(server: Server) -> None:
    with RawSession(server) as raw:
        assert raw.greeting.startswith(b"220 ")
        assert raw.reply().startswith(status(replies.TIMEOUT))  # nothing sent: the server gives up
        assert raw.reader.readline() == b""  # and closes


@pytest.mark.slow
def test_data_timeout_is_an_idle_timeout(server: Server) -> None:
    with RawSession(server) as raw:
        raw.command(b"EHLO c.example.org")
        raw.command(b"MAIL FROM:<sender@remote.test>")
        raw.command(b"RCPT TO:<alice@example.test>")
        assert raw.command(b"DATA").startswith(b"354")
        raw.send(b"Subject: slow\r\n\r\n")
        # A slow sender that keeps sending outlives the command timeout (2 s) ...
        for n in range(5):
            time.sleep(1)
            raw.send(b"line %d\r\n" % n)
        raw.send(b".\r\n")
        assert raw.reply().startswith(status(replies.OK))
        raw.command(b"MAIL FROM:<sender@remote.test>")
        raw.command(b"RCPT TO:<alice@example.test>")
        assert raw.command(b"DATA").startswith(b"354")
        raw.send(b"Subject: stalled\r\n\r\n")
        # ... but one that stops sending is cut off after the DATA timeout.
        assert raw.reply().startswith(status(replies.TIMEOUT))
    assert wait_until(lambda: "result=aborted: connection closed" in server.output(), 10)


@pytest.mark.parametrize("broker", BROKERS)
def test_message_rate_limits_per_ip_and_per_user(tmp_path: Path, broker: str) -> None:
    with smtp_server(
        tmp_path,
        broker_url=broker_url_for(broker),
        MAILRS_SMTP_MESSAGES_PER_MINUTE_PER_IP="4",
        MAILRS_SMTP_MESSAGES_PER_MINUTE_PER_USER="2",
    ) as server:
        with server.tls_client() as smtp:
            smtp.login(ALICE, password_of(ALICE))
            assert smtp.mail(ALICE)[0] == 250
            smtp.rset()
            assert smtp.mail(ALICE)[0] == 250
            smtp.rset()
            assert smtp.mail(ALICE) == reply_of(replies.RATE_LIMITED)
        with server.client("mx") as smtp:
            smtp.ehlo("c.example.org")
            assert smtp.mail("sender@remote.test")[0] == 250  # the address's 4th
            smtp.rset()
            assert smtp.mail("sender@remote.test")[0] == 451  # its 5th
        if broker == "redis":
            import redis

            client = redis.Redis.from_url(server.settings.celery.broker_url)
            keys = [key.decode() for key in client.keys("*mailrs-smtp*")]
            client.close()
            assert any("127.0.0.1" in key for key in keys), keys
            assert any(ALICE in key for key in keys), keys
