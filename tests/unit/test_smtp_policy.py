"""The SMTP policy as pure functions: reply codes, recipient decisions, trace header parts."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from mailrs.db.models import Message, Recipient
from mailrs.queue.trace import protocol_name, received_header
from smtpd import replies
from smtpd.connections import ConnectionLimiter
from smtpd.handler import has_bare_line_ending, has_long_line
from smtpd.recipients import RecipientFacts, RecipientStatus, recipient_decision

ENHANCED = re.compile(r"^[245]\d\d [245]\.\d{1,3}\.\d{1,3} ")


@pytest.mark.parametrize(
    ("aiosmtpd_reply", "ours"),
    [
        ('500 Error: command "NO\x00OP" not recognized', replies.UNKNOWN_COMMAND),
        ("552 Error: Too much mail data", replies.SIZE_EXCEEDED),
        ("500 Line too long (see RFC5321 4.5.3.1.6)", replies.LINE_TOO_LONG),
        ("503 Error: send HELO first", "503 5.5.1 Send HELO or EHLO first"),
        ("221 Bye", replies.BYE),
        ("250 OK", replies.OK),
        ("530 Must issue a STARTTLS command first", replies.STARTTLS_FIRST),
    ],
)
def test_aiosmtpd_replies_are_replaced(aiosmtpd_reply: str, ours: str) -> None:
    assert replies.enhance(aiosmtpd_reply) == ours


@pytest.mark.parametrize(
    "reply",
    ["501 Syntax: MAIL FROM: <address>", "501 Too many values", "502 EXPN not implemented"],
)
def test_every_other_reply_gets_an_enhanced_code(reply: str) -> None:
    assert ENHANCED.match(replies.enhance(reply)), replies.enhance(reply)


def test_replies_that_have_a_code_or_are_challenges_stay() -> None:
    for reply in (replies.NO_SUCH_USER, replies.AUTH_FAILED, "334 VXNlcm5hbWU6"):
        assert replies.enhance(reply) == reply
    constants = [v for k, v in vars(replies).items() if k.isupper() and isinstance(v, str)]
    for constant in constants:
        if not constant.startswith(("354", "220 2.0.0 Ready", "421 4.7.0 {", "421 4.4.2 {")):
            assert ENHANCED.match(constant.format(queue_id="Q", host="h")), constant


@pytest.mark.parametrize(
    ("facts", "status"),
    [
        (RecipientFacts(False, False, False, False), RecipientStatus.BAD_SYNTAX),
        (RecipientFacts(True, True, True, False), RecipientStatus.ACCEPTED),
        (RecipientFacts(True, True, False, False), RecipientStatus.NO_SUCH_USER),
        (RecipientFacts(True, True, False, True), RecipientStatus.NO_SUCH_USER),
        (RecipientFacts(True, False, False, False), RecipientStatus.RELAY_DENIED),
        (RecipientFacts(True, False, False, True), RecipientStatus.ACCEPTED),
    ],
)
def test_recipient_decision_table(facts: RecipientFacts, status: RecipientStatus) -> None:
    assert recipient_decision(facts) is status


@pytest.mark.parametrize(
    ("extended", "utf8", "tls", "auth", "name"),
    [
        (False, False, False, False, "SMTP"),
        (True, False, False, False, "ESMTP"),
        (True, False, True, False, "ESMTPS"),
        (True, False, False, True, "ESMTPA"),
        (True, False, True, True, "ESMTPSA"),
        (True, True, True, False, "UTF8SMTPS"),
        (True, True, True, True, "UTF8SMTPSA"),
    ],
)
def test_protocol_names(extended: bool, utf8: bool, tls: bool, auth: bool, name: str) -> None:
    assert protocol_name(extended, utf8, tls, auth) == name


def test_received_header_neutralizes_client_text() -> None:
    message = Message(
        queue_id="Q1",
        client_addr="192.0.2.1",
        helo="evil);by(x;é",
        protocol="ESMTP",
        tls="",
        auth_user=None,
        received_at=dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC),
    )
    message.recipients = [Recipient(idx=0, address="a@example.test")]
    header = received_header(message, "mx.example.test")
    assert header.startswith("Received: from evil??by?x?? ([192.0.2.1])\r\n")
    assert header.endswith("\r\n\tTue, 24 Nov 2026 12:00:00 +0000\r\n")
    assert header.isascii()


def test_connection_limiter_counts_and_releases() -> None:
    limiter = ConnectionLimiter(total=3, per_ip=2)
    assert limiter.acquire("a") and limiter.acquire("a")
    assert not limiter.acquire("a")
    assert limiter.acquire("b")
    assert not limiter.acquire("c")
    limiter.release("a")
    assert limiter.acquire("c")
    assert limiter.open == 3 and limiter.by_ip == {"a": 1, "b": 1, "c": 1}


@pytest.mark.parametrize(
    ("data", "bare"),
    [
        (b"a\r\nb\r\n", False),
        (b"", False),
        (b"a\rb\r\n", True),
        (b"a\nb\r\n", True),
        (b"\r\n.\n", True),
        (b"\r\r\n", True),
        (b"\r\n\n", True),
        (b"x\r", True),
    ],
)
def test_bare_line_endings_are_found_without_a_regex(data: bytes, bare: bool) -> None:
    assert has_bare_line_ending(data) is bare


@pytest.mark.parametrize(
    ("data", "long"),
    [
        (b"x" * 998 + b"\r\n", False),
        (b"x" * 999 + b"\r\n", True),
        (b"ok\r\n" + b"x" * 999, True),
        (b"ok\r\n" * 400, False),
    ],
)
def test_lines_over_998_octets_are_found(data: bytes, long: bool) -> None:
    assert has_long_line(data) is long
