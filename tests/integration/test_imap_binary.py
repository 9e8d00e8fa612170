"""BINARY (RFC 3516) over real sockets: FETCH BINARY[]/BINARY.SIZE[] (imaplib and raw)."""

from __future__ import annotations

import imaplib
import re

import pytest
from support.imap import ALICE, RawClient, ServerHarness

PASSWORD = "alice password"

pytestmark = pytest.mark.imap_server()

MESSAGE = (
    b"From: bob@example.test\r\nSubject: parts\r\nMIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
    b"--b\r\nContent-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
    b"caf=C3=A9 =3D ok\r\n"
    b"--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    b"AAEC/w==\r\n"
    b"--b\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: x-unknown\r\n\r\n?\r\n"
    b"--b--\r\n"
)


@pytest.fixture(scope="module")
def uid(harness: ServerHarness) -> int:
    """The UID of MESSAGE, appended to a folder of its own."""
    conn = imaplib.IMAP4(harness.server.host, harness.server.port, timeout=15)
    conn.login(ALICE, PASSWORD)
    conn.create("Bin")
    typ, data = conn.append("Bin", None, None, MESSAGE)
    conn.logout()
    assert typ == "OK"
    return int(re.search(rb"APPENDUID \d+ (\d+)", data[0]).group(1))  # type: ignore[union-attr]


def test_imaplib_binary_fetch_and_seen(harness: ServerHarness, uid: int) -> None:
    conn = imaplib.IMAP4(harness.server.host, harness.server.port, timeout=15)
    conn.login(ALICE, PASSWORD)
    assert "BINARY" in conn.capabilities
    conn.select("Bin")
    typ, data = conn.uid("FETCH", str(uid), "(BINARY.PEEK[1] BINARY.SIZE[1] BINARY.SIZE[2])")
    assert typ == "OK"
    assert data[0][1] == "café = ok".encode()  # type: ignore[index]
    assert b"BINARY.SIZE[1] 10" in data[1] and b"BINARY.SIZE[2] 4" in data[1]  # type: ignore[operator]
    typ, data = conn.fetch("1", "(FLAGS)")
    assert b"\\Seen" not in data[0]  # type: ignore[operator]
    typ, data = conn.fetch("1", "(BINARY[1]<6.3>)")
    assert data[0][1] == b"= o"  # type: ignore[index]
    typ, data = conn.fetch("1", "(FLAGS)")
    assert b"\\Seen" in data[0]  # type: ignore[operator]
    conn.logout()


def test_raw_literal8_and_errors(harness: ServerHarness, uid: int) -> None:
    conn = RawClient(harness.server.host, harness.server.port)
    assert conn.command(b"L", f'LOGIN {ALICE} "{PASSWORD}"'.encode())[-1].startswith(b"L OK")
    assert conn.command(b"S", b"EXAMINE Bin")[-1].startswith(b"S OK")
    conn.send(b"F FETCH 1 BINARY.PEEK[2]\r\n")
    assert conn.read_line().endswith(b"BINARY[2] ~{4}")
    assert conn.read_exact(4) == b"\x00\x01\x02\xff"
    assert conn.until_tagged(b"F")[-1].startswith(b"F OK")
    assert conn.command(b"G", b"FETCH 1 BINARY.PEEK[3]")[-1].startswith(b"G NO [UNKNOWN-CTE]")
    assert conn.command(b"H", b"FETCH 1 BINARY.PEEK[1.TEXT]")[-1].startswith(b"H BAD")
    lines = conn.command(b"I", b"FETCH 1 BINARY.SIZE[]")
    assert lines[0] == b"* 1 FETCH (BINARY.SIZE[] %d)" % len(MESSAGE)
    conn.close()
