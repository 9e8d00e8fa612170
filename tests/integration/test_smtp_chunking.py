"""CHUNKING/BDAT (RFC 3030) on a real smtpd, spoken by a raw socket client."""

from __future__ import annotations

import pytest
from support.smtp import ALICE, RawSession, Server

from mailrs.queue.spool import Spool

pytestmark = pytest.mark.smtp_server(tls=False, MAILRS_SMTP_MAX_MESSAGE_SIZE="4096")

BODY = b"From: x@remote.test\r\nTo: alice@example.test\r\nSubject: chunks\r\n\r\n.leading dot\r\n"


def _start(raw: RawSession) -> None:
    assert raw.command(b"EHLO client.remote.test").startswith(b"250 ")
    assert raw.command(b"MAIL FROM:<x@remote.test>").startswith(b"250")
    assert raw.command(f"RCPT TO:<{ALICE}>".encode()).startswith(b"250")


def test_ehlo_offers_chunking(server: Server) -> None:
    with RawSession(server) as raw:
        raw.send(b"EHLO client.remote.test\r\n")
        lines = [raw.reader.readline()]
        while lines[-1][3:4] == b"-":
            lines.append(raw.reader.readline())
        assert b"250-CHUNKING\r\n" in lines


def test_chunks_are_joined_and_spooled_as_sent(server: Server) -> None:
    """Two chunks, the second LAST: one message, bytes as sent (no dot-unstuffing)."""
    first, second = BODY[:30], BODY[30:]
    with RawSession(server) as raw:
        _start(raw)
        raw.send(b"BDAT %d\r\n%s" % (len(first), first))
        assert raw.reply().startswith(b"250 2.0.0 30 octets received")
        raw.send(b"BDAT %d LAST\r\n%s" % (len(second), second))
        reply = raw.reply()
        assert reply.startswith(b"250"), reply
        queue_id = reply.split()[-1].decode()
        assert raw.command(b"NOOP").startswith(b"250")
    spooled = Spool(server.settings.spool_path).read(queue_id)
    assert spooled.endswith(BODY)


def test_pipelined_bdat_and_errors(server: Server) -> None:
    """BDAT before RCPT is 503 (its octets still read), bad syntax 501, too much 552."""
    with RawSession(server) as raw:
        assert raw.command(b"EHLO client.remote.test").startswith(b"250 ")
        raw.send(b"BDAT 5 LAST\r\nhello")
        assert raw.reply().startswith(b"503")
        assert raw.command(b"BDAT x").startswith(b"501")
        assert raw.command(b"MAIL FROM:<x@remote.test>").startswith(b"250")
        assert raw.command(f"RCPT TO:<{ALICE}>".encode()).startswith(b"250")
        big = b"a" * 3000 + b"\r\n"
        raw.send(b"BDAT %d\r\n%sBDAT %d LAST\r\n%s" % (len(big), big, len(big), big))
        assert raw.reply().startswith(b"250 2.0.0")
        assert raw.reply().startswith(b"552")
        assert raw.command(b"NOOP").startswith(b"250")
        _again = raw.command(b"MAIL FROM:<x@remote.test>")
        assert _again.startswith(b"250"), _again
