"""Unit tests of IMAP response building, mailbox name encoding, LIST patterns and sections."""

from __future__ import annotations

import calendar
import imaplib
import time

import pytest

from imapd import listpattern
from imapd.message_parts import header_length, partial, section_bytes
from imapd.protocol import Code, Status, flags_from_letters
from imapd.responses import (
    Atom,
    astring,
    continuation,
    encode,
    fetch_line,
    internaldate,
    list_line,
    literal,
    quoted,
    status_line,
    string,
    untagged,
)
from mailrs.store import mutf7

# -- quoting and values ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "wire"),
    [
        ("INBOX", b"INBOX"),
        ("Archive/2024", b"Archive/2024"),
        ("", b'""'),
        ("NIL", b'"NIL"'),
        ("two words", b'"two words"'),
        ('say "hi"', b'"say \\"hi\\""'),
        ("back\\slash", b'"back\\\\slash"'),
        ("a(b", b'"a(b"'),
        ("star*", b'"star*"'),
        ("line\r\nbreak", b"{11}\r\nline\r\nbreak"),
        ("caf\u00e9", b"{5}\r\ncaf\xc3\xa9"),
    ],
)
def test_astring(text: str, wire: bytes) -> None:
    assert astring(text) == wire


def test_quoted_and_literal() -> None:
    assert quoted("a b") == b'"a b"'
    with pytest.raises(ValueError):
        quoted("a\nb")
    assert literal(b"") == b"{0}\r\n"
    assert literal(b"x\r\ny") == b"{4}\r\nx\r\ny"
    assert string("ok") == b'"ok"'


def test_encode_values() -> None:
    assert encode(None) == b"NIL"
    assert encode(42) == b"42"
    assert encode(Atom("\\Seen")) == b"\\Seen"
    assert encode("a date") == b'"a date"'
    assert encode(b"raw") == b"{3}\r\nraw"
    assert encode([Atom("\\Seen"), Atom("\\Draft")]) == b"(\\Seen \\Draft)"
    assert encode([]) == b"()"
    with pytest.raises(TypeError):
        encode(True)


def test_status_lines() -> None:
    assert status_line("a1", Status.OK, "done") == b"a1 OK done\r\n"
    assert status_line(None, Status.BYE, "bye") == b"* BYE bye\r\n"
    line = status_line("a", Status.NO, "Authentication failed", Code.AUTHENTICATIONFAILED)
    assert line == b"a NO [AUTHENTICATIONFAILED] Authentication failed\r\n"
    assert status_line(None, Status.OK, "x", Code.UIDNEXT, "7") == b"* OK [UIDNEXT 7] x\r\n"


def test_status_line_text_cannot_inject_lines() -> None:
    line = status_line("a", Status.BAD, "bad\r\nb OK forged\x00 caf\u00e9")
    assert line.count(b"\r\n") == 1 and line.endswith(b"\r\n")
    assert b"\x00" not in line
    assert line.isascii()


def test_untagged_continuation_fetch_and_list() -> None:
    assert untagged("3", "EXISTS") == b"* 3 EXISTS\r\n"
    assert continuation("go") == b"+ go\r\n"
    line = fetch_line(2, [("UID", 9), ("FLAGS", [Atom("\\Seen")]), ("BODY[]", b"hi")])
    assert line == b"* 2 FETCH (UID 9 FLAGS (\\Seen) BODY[] {2}\r\nhi)\r\n"
    assert list_line(["\\HasNoChildren"], "/", "INBOX") == b'* LIST (\\HasNoChildren) "/" INBOX\r\n'
    assert list_line([], "/", "My Box") == b'* LIST () "/" "My Box"\r\n'


def test_internaldate_is_parsed_back_by_imaplib() -> None:
    epoch = calendar.timegm((2024, 3, 5, 7, 8, 9))
    text = internaldate(epoch + 0.75)
    assert text == " 5-Mar-2024 07:08:09 +0000"
    parsed = imaplib.Internaldate2tuple(f'1 (INTERNALDATE "{text}")'.encode())
    assert parsed is not None and time.mktime(parsed) == epoch


def test_flags_from_letters() -> None:
    assert flags_from_letters("") == []
    assert flags_from_letters("PS") == ["\\Seen"]
    assert flags_from_letters("DFRST", recent=True) == [
        "\\Answered",
        "\\Flagged",
        "\\Deleted",
        "\\Seen",
        "\\Draft",
        "\\Recent",
    ]


# -- modified UTF-7 ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "wire"),
    [
        ("INBOX", "INBOX"),
        ("A & B", "A &- B"),
        ("Entw\u00fcrfe", "Entw&APw-rfe"),
        ("\u65e5\u672c\u8a9e", "&ZeVnLIqe-"),
        ("~peter/mail/\u53f0\u5317/\u65e5\u672c\u8a9e", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"),
    ],
)
def test_mutf7_round_trip(name: str, wire: str) -> None:
    assert mutf7.encode(name) == wire
    assert mutf7.decode(wire) == name


@pytest.mark.parametrize("wire", ["&", "&Jjo", "&AGE-", "&!!-", "caf\u00e9", "a\x01b"])
def test_mutf7_rejects_bad_input(wire: str) -> None:
    with pytest.raises(ValueError):
        mutf7.decode(wire)


# -- LIST patterns ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "name", "expected"),
    [
        ("*", "INBOX", True),
        ("*", "Archive/2024", True),
        ("%", "Archive", True),
        ("%", "Archive/2024", False),
        ("Archive/%", "Archive/2024", True),
        ("Archive/%", "Archive", False),
        ("A*4", "Archive/2024", True),
        ("A%4", "Archive/2024", False),
        ("Sent", "Sent", True),
        ("Sent", "sent", False),
        ("%/%", "Archive/2024", True),
        ("*%*%", "Archive/2024", True),
        ("", "INBOX", False),
    ],
)
def test_list_pattern_matching(pattern: str, name: str, expected: bool) -> None:
    assert listpattern.matches(pattern, name) is expected


def test_list_pattern_combines_reference_and_inbox_case() -> None:
    assert listpattern.combine("Archive/", "%") == "Archive/%"
    assert listpattern.combine("", "inbox") == "INBOX"
    assert listpattern.combine("", "Inbox/Sub") == "INBOX/Sub"
    assert listpattern.combine("x", "") == ""


def test_hostile_list_pattern_is_fast() -> None:
    pattern = "*a" * 5000 + "b"
    name = "a" * 255
    start = time.monotonic()
    assert not listpattern.matches(pattern, name)
    assert not listpattern.matches("%a" * 5000, name)
    assert time.monotonic() - start < 2.0


# -- message sections ---------------------------------------------------------------------------

MESSAGE = b"From: a@example.test\r\nSubject: s\r\n\r\nBody line\r\n\r\nmore\r\n"


def test_sections_of_a_crlf_message() -> None:
    assert section_bytes(MESSAGE, "") == MESSAGE
    assert section_bytes(MESSAGE, "HEADER") == b"From: a@example.test\r\nSubject: s\r\n\r\n"
    assert section_bytes(MESSAGE, "TEXT") == b"Body line\r\n\r\nmore\r\n"
    with pytest.raises(ValueError):
        section_bytes(MESSAGE, "MIME")


@pytest.mark.parametrize(
    ("data", "length"),
    [
        (b"A: b\n\nbody", 6),
        (b"A: b\r\n", 6),  # no body at all: everything is header
        (b"\r\nbody", 2),
        (b"\nbody", 1),
        (b"", 0),
    ],
)
def test_header_length(data: bytes, length: int) -> None:
    assert header_length(data) == length


def test_partial() -> None:
    assert partial(b"0123456789", 2, 3) == b"234"
    assert partial(b"0123456789", 8, 10) == b"89"
    assert partial(b"0123456789", 20, 1) == b""
