"""IMAP4rev2 (RFC 9051) beside IMAP4rev1, and UTF8=ACCEPT (RFC 6855), over real sockets.

A session that does not ENABLE either sees IMAP4rev1 exactly as before (modified UTF-7
names, \\Recent, SEARCH); ``ENABLE IMAP4rev2`` switches to UTF-8 names, no \\Recent or
RECENT, ESEARCH answers to SEARCH, a LIST line in SELECT, [CLOSED] on a re-SELECT and
STATUS DELETED. imaplib's own UTF8=ACCEPT mode (``enable("UTF8=ACCEPT")``) sends UTF-8
names; APPEND's ``UTF8 (~{n})`` form is checked with raw bytes (imaplib 3.12 puts the
``UTF8 (`` text inside its literal).
"""

from __future__ import annotations

import imaplib

import pytest
from support.imap import ALICE, RawClient, ServerHarness, sample_message

PASSWORD = "alice password"
NAME = "Entwürfe"

pytestmark = pytest.mark.imap_server()


def raw(harness: ServerHarness, enable: bytes = b"") -> RawClient:
    """A raw client logged in as Alice, with ``enable`` ENABLEd."""
    conn = RawClient(harness.server.host, harness.server.port)
    assert conn.command(b"L", f'LOGIN {ALICE} "{PASSWORD}"'.encode())[-1].startswith(b"L OK")
    if enable:
        assert conn.command(b"E", b"ENABLE " + enable)[0] == b"* ENABLED " + enable
    return conn


@pytest.fixture(scope="module")
def folder(harness: ServerHarness) -> str:
    """A folder with a non-ASCII name and three messages, the second \\Deleted."""
    conn = imaplib.IMAP4(harness.server.host, harness.server.port, timeout=15)
    conn.login(ALICE, PASSWORD)
    wire = "Entw&APw-rfe"  # modified UTF-7, as an IMAP4rev1 client sends it
    assert conn.create(wire)[0] == "OK"
    for n in range(3):
        flags = "(\\Deleted)" if n == 1 else None
        assert conn.append(wire, flags, None, sample_message(f"rev2 {n}"))[0] == "OK"
    conn.logout()
    return NAME


def test_capabilities(harness: ServerHarness) -> None:
    conn = imaplib.IMAP4(harness.server.host, harness.server.port, timeout=15)
    for name in ("IMAP4REV1", "IMAP4REV2", "UTF8=ACCEPT", "ENABLE"):  # imaplib upper-cases
        assert name in conn.capabilities
    conn.logout()


def test_rev1_sessions_are_unchanged(harness: ServerHarness, folder: str) -> None:
    conn = raw(harness)
    lines = conn.command(b"A", b'LIST "" "Entw*"')
    assert lines[0] == b'* LIST (\\HasNoChildren) "/" Entw&APw-rfe'
    lines = conn.command(b"B", b"SELECT Entw&APw-rfe")
    assert [line for line in lines if line.endswith(b" RECENT")]
    assert not [line for line in lines if line.startswith(b"* LIST")]
    assert conn.command(b"C", b"SEARCH DELETED")[0] == b"* SEARCH 2"
    conn.close()


def test_imap4rev2_behaviour(harness: ServerHarness, folder: str) -> None:
    conn = raw(harness, b"IMAP4rev2")
    lines = conn.command(b"A", b'LIST "" "Entw*"')
    assert lines[0] == '* LIST (\\HasNoChildren) "/" "Entwürfe"'.encode()
    lines = conn.command(b"B", 'SELECT "Entwürfe"'.encode())
    assert lines[-1].startswith(b"B OK [READ-WRITE]")
    assert '* LIST () "/" "Entwürfe"'.encode() in lines
    assert not [line for line in lines if line.endswith(b" RECENT") or b"\\Recent" in line]
    assert b"* 3 EXISTS" in lines
    flags = conn.command(b"C", b"FETCH 1:* (FLAGS)")
    assert len(flags) == 4 and not [line for line in flags if b"\\Recent" in line]
    assert conn.command(b"D", b"SEARCH DELETED")[0] == b'* ESEARCH (TAG "D") ALL 2'
    assert conn.command(b"D2", b"UID SEARCH SUBJECT nothing-like-it")[0] == (
        b'* ESEARCH (TAG "D2") UID'
    )
    status = conn.command(b"F", 'STATUS "Entwürfe" (MESSAGES DELETED SIZE)'.encode())[0]
    assert status.startswith('* STATUS "Entwürfe" (MESSAGES 3 DELETED 1 SIZE '.encode())
    lines = conn.command(b"G", b"EXAMINE INBOX")
    assert lines[0] == b"* OK [CLOSED] Previous mailbox closed"
    # a name with '&' is just a name once modified UTF-7 is off
    assert conn.command(b"H", b'CREATE "R&D"')[-1].startswith(b"H OK")
    assert conn.command(b"I", b'LIST "" "R*"')[0] == b'* LIST (\\HasNoChildren) "/" R&D'
    conn.close()
    old = raw(harness)
    assert old.command(b"A", b'LIST "" "R*"')[0] == b'* LIST (\\HasNoChildren) "/" R&-D'
    old.close()


def test_imaplib_utf8_accept(harness: ServerHarness, folder: str) -> None:
    conn = imaplib.IMAP4(harness.server.host, harness.server.port, timeout=15)
    conn.login(ALICE, PASSWORD)
    assert conn.enable("UTF8=ACCEPT")[0] == "OK"
    assert conn.utf8_enabled
    typ, data = conn.list('""', '"Entw*"')
    assert typ == "OK" and data == ['(\\HasNoChildren) "/" "Entwürfe"'.encode()]
    assert conn.create('"Ünïcødé/子"')[0] == "OK"
    typ, data = conn.select('"Entwürfe"')
    assert typ == "OK" and data == [b"3"]
    typ, data = conn.list('""', '"Ünïcødé/*"')
    assert data == ['(\\HasNoChildren) "/" "Ünïcødé/子"'.encode()]
    conn.logout()


def test_append_utf8_data_item(harness: ServerHarness, folder: str) -> None:
    message = "From: Zoë <zoe@example.test>\r\nSubject: Grüße\r\n\r\nHallo\r\n".encode()
    before = raw(harness)
    text = b"APPEND INBOX UTF8 (~{%d+}\r\n" % len(message) + message + b")"
    assert before.command(b"A", text)[-1].startswith(b"A BAD")  # not enabled yet
    before.close()
    conn = raw(harness, b"UTF8=ACCEPT")
    assert conn.command(b"B", text)[-1].startswith(b"B OK [APPENDUID ")
    conn.command(b"S", b"SELECT INBOX")
    lines = conn.command(b"C", b"FETCH * (BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert "Subject: Grüße".encode() in b"\n".join(lines)
    conn.close()
