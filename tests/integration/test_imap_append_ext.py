"""MULTIAPPEND (RFC 3502), CATENATE (RFC 4469) and APPEND's literal8 (RFC 3516), raw and imaplib."""

from __future__ import annotations

import imaplib
import re

import pytest
from support.imap import ALICE, RawClient, ServerHarness, sample_message

PASSWORD = "alice password"

pytestmark = pytest.mark.imap_server()


def raw(harness: ServerHarness) -> RawClient:
    """A raw client logged in as Alice."""
    conn = RawClient(harness.server.host, harness.server.port)
    assert conn.command(b"L", f'LOGIN {ALICE} "{PASSWORD}"'.encode())[-1].startswith(b"L OK")
    return conn


def literal(data: bytes, binary: bool = False) -> bytes:
    """A non-synchronising literal (LITERAL+), as literal8 when ``binary``."""
    return (b"~" if binary else b"") + b"{%d+}\r\n" % len(data) + data


def count(harness: ServerHarness, mailbox: str) -> int:
    """Messages in ``mailbox`` (imaplib STATUS)."""
    conn = imaplib.IMAP4(harness.server.host, harness.server.port, timeout=15)
    conn.login(ALICE, PASSWORD)
    typ, data = conn.status(mailbox, "(MESSAGES)")
    conn.logout()
    assert typ == "OK"
    return int(re.search(rb"MESSAGES (\d+)", data[0]).group(1))  # type: ignore[union-attr]


def fetch_literal(conn: RawClient, command: bytes) -> bytes:
    """The one literal a FETCH of one message and one body item returns."""
    conn.send(b"F " + command + b"\r\n")
    head = conn.read_line()
    size = int(re.search(rb"\{(\d+)\}$", head).group(1))  # type: ignore[union-attr]
    data = conn.read_exact(size)
    assert conn.until_tagged(b"F")[-1].startswith(b"F OK")
    return data


def test_capabilities(harness: ServerHarness) -> None:
    conn = imaplib.IMAP4(harness.server.host, harness.server.port, timeout=15)
    conn.login(ALICE, PASSWORD)
    assert "MULTIAPPEND" in conn.capabilities and "CATENATE" in conn.capabilities
    conn.logout()


def test_multiappend_stores_all_with_their_flags_and_dates(harness: ServerHarness) -> None:
    conn = raw(harness)
    assert conn.command(b"C", b"CREATE Multi")[-1].startswith(b"C OK")
    one, two, three = (sample_message(f"multi {n}") for n in (1, 2, 3))
    command = (
        b"APPEND Multi (\\Seen) "
        + literal(one)
        + b' (\\Flagged $Work) "05-Mar-2024 10:00:00 +0100" '
        + literal(two)
        + b" "
        + literal(three)
    )
    reply = conn.command(b"A", command)[-1]
    match = re.match(rb"A OK \[APPENDUID (\d+) (\d+):(\d+)\]", reply)
    assert match is not None, reply
    first, last = int(match.group(2)), int(match.group(3))
    assert last - first == 2
    assert conn.command(b"S", b"SELECT Multi")[-1].startswith(b"S OK")
    lines = conn.command(b"F", b"FETCH 1:3 (FLAGS INTERNALDATE ENVELOPE)")
    text = b"\n".join(lines)
    assert b"multi 1" in text and b"multi 3" in text
    assert re.search(rb"\* 1 FETCH \(FLAGS \(\\Seen", text)
    second = next(line for line in lines if line.startswith(b"* 2 FETCH"))
    assert b"\\Flagged $Work" in second, second
    assert b'" 5-Mar-2024 10:00:00 +0100"' in second, second
    conn.close()


def test_multiappend_is_all_or_nothing(harness: ServerHarness) -> None:
    conn = raw(harness)
    assert conn.command(b"C", b"CREATE Atomic")[-1].startswith(b"C OK")
    good = sample_message("atomic good")
    command = (
        b"APPEND Atomic " + literal(good) + b' CATENATE (URL "/INBOX;UIDVALIDITY=1/;UID=999999")'
    )
    reply = conn.command(b"A", command)[-1]
    assert reply.startswith(b"A NO [BADURL"), reply
    assert conn.command(b"B", b"APPEND Atomic " + literal(good) + b" {0+}\r\n")[-1].startswith(
        b"B NO"
    )
    assert count(harness, "Atomic") == 0
    assert conn.command(b"D", b"APPEND NoSuchBox " + literal(good))[-1].startswith(
        b"D NO [TRYCREATE]"
    )
    conn.close()


def test_catenate_text_and_urls(harness: ServerHarness) -> None:
    conn = raw(harness)
    assert conn.command(b"C", b"CREATE Parts")[-1].startswith(b"C OK")
    source = sample_message("catenate source", "the quoted body line")
    reply = conn.command(b"A", b"APPEND Parts " + literal(source))[-1]
    match = re.match(rb"A OK \[APPENDUID (\d+) (\d+)\]", reply)
    assert match is not None
    validity, uid = int(match.group(1)), int(match.group(2))
    header = b"From: alice@example.test\r\nSubject: catenated\r\n\r\nMy reply:\r\n"
    url = f"/Parts;UIDVALIDITY={validity}/;UID={uid}/;SECTION=TEXT".encode()
    whole = f"imap://alice@localhost/Parts/;UID={uid}".encode()
    command = (
        b"APPEND Parts CATENATE (TEXT "
        + literal(header)
        + b' URL "'
        + url
        + b'" TEXT '
        + literal(b"--\r\n")
        + b' URL "'
        + whole
        + b'")'
    )
    reply = conn.command(b"B", command)[-1]
    assert reply.startswith(b"B OK [APPENDUID"), reply
    new_uid = int(re.match(rb"B OK \[APPENDUID \d+ (\d+)\]", reply).group(1))  # type: ignore[union-attr]
    assert conn.command(b"S", b"EXAMINE Parts")[-1].startswith(b"S OK")
    body = fetch_literal(conn, b"UID FETCH %d BODY.PEEK[]" % new_uid)
    assert b"My reply:\r\nthe quoted body line\r\n--\r\nFrom: Bob" in body
    part = f"/Parts/;UID={uid}/;SECTION=TEXT/;PARTIAL=4.6".encode()
    reply = conn.command(b"P", b'APPEND Parts CATENATE (URL "' + part + b'")')[-1]
    partial_uid = int(re.match(rb"P OK \[APPENDUID \d+ (\d+)\]", reply).group(1))  # type: ignore[union-attr]
    assert fetch_literal(conn, b"UID FETCH %d BODY.PEEK[]" % partial_uid) == b"quoted"
    for bad in (
        f"/Parts;UIDVALIDITY={validity + 1}/;UID={uid}",  # stale UIDVALIDITY
        "/Nowhere/;UID=1",
        "/Parts/;UID=4000000000",
        "/Parts/;UID=1/;SECTION=BOGUS",
        "not a url",
    ):
        reply = conn.command(b"X", b'APPEND Parts CATENATE (URL "' + bad.encode() + b'")')[-1]
        assert reply.startswith(b"X NO [BADURL") or reply.startswith(b"X BAD"), (bad, reply)
    assert conn.command(b"Y", b"APPEND Parts CATENATE ()")[-1].startswith(b"Y BAD")
    assert conn.command(b"Z", b"APPEND Parts CATENATE (FILE x)")[-1].startswith(b"Z BAD")
    conn.close()


def test_literal8_append_keeps_binary_bytes(harness: ServerHarness) -> None:
    conn = raw(harness)
    assert conn.command(b"C", b"CREATE Binary")[-1].startswith(b"C OK")
    data = b"Subject: binary\r\nContent-Transfer-Encoding: binary\r\n\r\nzero \x00 byte \xff\r\n"
    reply = conn.command(b"A", b"APPEND Binary " + literal(data, binary=True))[-1]
    assert reply.startswith(b"A OK [APPENDUID"), reply
    assert conn.command(b"S", b"EXAMINE Binary")[-1].startswith(b"S OK")
    # the bytes come back through BINARY; BODY[] may not carry NUL: base64 (as Dovecot)
    assert fetch_literal(conn, b"FETCH 1 BINARY.PEEK[1]") == b"zero \x00 byte \xff\r\n"
    stored = fetch_literal(conn, b"FETCH 1 BODY.PEEK[]")
    assert b"\x00" not in stored and b"Content-Transfer-Encoding: base64\r\n" in stored
    conn.close()
