"""Attacks and bad input over raw sockets, with the Maildir as the judge.

Each SMTP smuggling variant sends the exact bytes of a second, hidden transaction behind
a bare CR or LF; one transaction must never become two delivered messages.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from support.processes import wait_until
from support.smtp import ALICE, BOB, RawSession, Server, status

from mailrs.db.engine import Database
from mailrs.db.models import Message
from smtpd import replies

LIMIT = 20000


pytestmark = [
    pytest.mark.slow,
    pytest.mark.smtp_server(worker=True, MAILRS_SMTP_MAX_MESSAGE_SIZE=str(LIMIT)),
]


def message_rows(server: Server) -> int:
    db = Database.from_settings(server.settings)
    with db.session() as session:
        count = session.scalar(select(func.count(Message.id))) or 0
    db.dispose()
    return count


def open_transaction(raw: RawSession, rcpt: bytes = b"alice@example.test") -> None:
    assert raw.command(b"EHLO c.example.org").startswith(b"250 ")
    assert raw.command(b"MAIL FROM:<sender@remote.test>").startswith(status(replies.OK_SENDER))
    assert raw.command(b"RCPT TO:<" + rcpt + b">").startswith(status(replies.OK_RCPT))
    assert raw.command(b"DATA").startswith(b"354")


def settle(server: Server, alice_before: int, rows_before: int) -> None:
    """Send one good message and wait for it: the pipeline has caught up behind it."""
    with RawSession(server) as raw:
        open_transaction(raw)
        assert raw.command(b"Subject: good\r\n\r\ngood\r\n.").startswith(status(replies.OK))
    assert server.wait_count(ALICE, alice_before + 1), server.output()
    assert message_rows(server) == rows_before + 1


SMUGGLED = (
    b"MAIL FROM:<evil@remote.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n"
    b"Subject: smuggled\r\n\r\nevil\r\n"
)


@pytest.mark.parametrize(
    "end",
    [
        b"\n.\n",  # <LF>.<LF>
        b"\r.\r",  # <CR>.<CR>
        b"\n.\r\n",  # <LF>.<CR><LF>
        b"\r.\r\n",  # <CR>.<CR><LF>
        b"\r\n.\n",  # <CR><LF>.<LF>
        b"\r\n.\r",  # <CR><LF>.<CR>
        b"\r.\n",  # <CR>.<LF>
        b"\n.\r",  # <LF>.<CR>
    ],
    ids=["LF.LF", "CR.CR", "LF.CRLF", "CR.CRLF", "CRLF.LF", "CRLF.CR", "CR.LF", "LF.CR"],
)
def test_smuggling_never_makes_two_messages(server: Server, end: bytes) -> None:
    alice_before, bob_before = server.count(ALICE), server.count(BOB)
    rows_before = message_rows(server)
    with RawSession(server) as raw:
        open_transaction(raw)
        raw.send(b"Subject: first\r\n\r\nbody" + end + SMUGGLED + b".\r\n")
        reply = raw.reply()
        assert reply.startswith(status(replies.BARE_LINE_ENDING)), reply
        # The session goes on; nothing from the hidden transaction is answered.
        assert raw.command(b"NOOP").startswith(status(replies.OK))
    settle(server, alice_before, rows_before)
    assert server.count(BOB) == bob_before
    assert not any(b"smuggled" in raw for raw in server.messages(ALICE))


def test_dot_stuffing_is_undone_and_lone_dot_ends_data(server: Server) -> None:
    alice_before, rows_before = server.count(ALICE), message_rows(server)
    with RawSession(server) as raw:
        open_transaction(raw)
        raw.send(b"Subject: dots\r\n\r\n..leading dot\r\n.\r\n")
        assert raw.reply().startswith(status(replies.OK))
    assert server.wait_count(ALICE, alice_before + 1)
    assert message_rows(server) == rows_before + 1


@pytest.mark.parametrize(
    "line",
    [
        b"HELO a\x00b",
        b"EHLO \xff\xfe",
        b"MAIL FROM:<a\x00@remote.test>",
        b"MAIL FROM:<\xc3\x28@remote.test>",
        b"NOOP \x00",
        b"NOOP \xff",
        b"VRFY \x01\x02",
        b"NO\x00OP",
        b"\xff\xfe\xfd",
        b"\x00",
        b"MAIL\x00 FROM:<a@remote.test>",
    ],
)
def test_nul_and_invalid_utf8_in_commands_get_500_or_501(server: Server, line: bytes) -> None:
    with RawSession(server) as raw:
        reply = raw.command(line)
        assert reply[:3] in (b"500", b"501"), reply
        assert b"\x00" not in reply and b"\xff" not in reply  # never echoed back
        assert raw.command(b"EHLO c.example.org").startswith(b"250 ")  # still usable
    assert "Traceback" not in server.output()


def test_commands_and_data_lines_over_1000_octets_are_refused(server: Server) -> None:
    alice_before, rows_before = server.count(ALICE), message_rows(server)
    with RawSession(server) as raw:
        assert raw.command(b"EHLO " + b"a" * 600 + b".example.org").startswith(
            status(replies.COMMAND_TOO_LONG)
        )
        assert raw.command(b"NOOP " + b"x" * 5000).startswith(status(replies.COMMAND_TOO_LONG))
        open_transaction(raw)
        raw.send(b"Subject: long\r\n\r\n" + b"y" * 999 + b"\r\n.\r\n")
        assert raw.reply().startswith(replies.LINE_TOO_LONG.encode())
        raw.command(b"MAIL FROM:<sender@remote.test>")
        raw.command(b"RCPT TO:<alice@example.test>")
        raw.command(b"DATA")
        raw.send(b"Subject: long\r\n\r\n" + b"z" * 5000 + b"\r\n.\r\n")
        assert raw.reply().startswith(replies.LINE_TOO_LONG.encode())
        # 998 octets and CRLF is the longest legal line.
        raw.command(b"MAIL FROM:<sender@remote.test>")
        raw.command(b"RCPT TO:<alice@example.test>")
        raw.command(b"DATA")
        raw.send(b"Subject: longest\r\n\r\n" + b"w" * 998 + b"\r\n.\r\n")
        assert raw.reply().startswith(status(replies.OK))
    assert server.wait_count(ALICE, alice_before + 1)
    assert message_rows(server) == rows_before + 1


def test_size_declared_too_large_is_552_at_mail(server: Server) -> None:
    with RawSession(server) as raw:
        raw.command(b"EHLO c.example.org")
        reply = raw.command(b"MAIL FROM:<sender@remote.test> SIZE=" + str(LIMIT + 1).encode())
        assert reply.startswith(status(replies.SIZE_EXCEEDED)), reply
        assert raw.command(b"MAIL FROM:<sender@remote.test> SIZE=100").startswith(b"250")


def test_message_too_large_after_data_is_552_and_not_delivered(server: Server) -> None:
    alice_before, rows_before = server.count(ALICE), message_rows(server)
    with RawSession(server) as raw:
        open_transaction(raw)
        body = (b"x" * 70 + b"\r\n") * (LIMIT // 72 + 10)
        raw.send(b"Subject: big\r\n\r\n" + body + b".\r\n")
        assert raw.reply().startswith(status(replies.SIZE_EXCEEDED))
        assert raw.command(b"NOOP").startswith(b"250")
    settle(server, alice_before, rows_before)
    assert wait_until(lambda: f"result=rejected: {replies.SIZE_EXCEEDED}" in server.output(), 10)
