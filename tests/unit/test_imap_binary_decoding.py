"""BINARY's content-transfer decoding and literal8 (imapd.binary), and its FETCH grammar."""

from __future__ import annotations

import pytest

from imapd.binary import decode_body, decoded_part, literal8
from imapd.errors import CommandFailed, ParseError
from imapd.parsed import FetchArgs
from imapd.parser import parse_command

MESSAGE = (
    b"Subject: parts\r\nMIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
    b"--b\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
    b"caf=C3=A9=\r\n!\r\n"
    b"--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    b"AAEC\r\n/w==\r\n"
    b"--b\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\nbegin\r\n"
    b"--b--\r\n"
)


def test_decode_body() -> None:
    assert decode_body(b"QUJD", "base64") == b"ABC"
    assert decode_body(b"QQ==", " Base64 ") == b"A"
    assert decode_body(b"QQ", "base64") == b"A"  # missing padding is forgiven
    assert decode_body(b"a=3Db", "quoted-printable") == b"a=b"
    assert decode_body(b"\xff raw", "binary") == b"\xff raw"
    with pytest.raises(CommandFailed, match="Unknown"):
        decode_body(b"x", "x-uuencode")


def test_decoded_part() -> None:
    assert decoded_part(None, MESSAGE, ()) == MESSAGE
    assert decoded_part(None, MESSAGE, (1,)) == "café!".encode()
    assert decoded_part(None, MESSAGE, (2,)) == b"\x00\x01\x02\xff"
    assert decoded_part(None, MESSAGE, (9,)) == b""
    with pytest.raises(CommandFailed):
        decoded_part(None, MESSAGE, (3,))


def test_literal8() -> None:
    assert literal8(b"abc") == b"{3}\r\nabc"
    assert literal8(b"a\0c") == b"~{3}\r\na\0c"


def test_binary_fetch_grammar() -> None:
    command = parse_command(b"a FETCH 1 (BINARY[1]<0.10> BINARY.PEEK[] BINARY.SIZE[2.1])")
    assert isinstance(command.args, FetchArgs)
    names = [(i.name, i.peek, i.response_name) for i in command.args.items]
    assert names == [
        ("BINARY", False, "BINARY[1]<0>"),
        ("BINARY", True, "BINARY[]"),
        ("BINARY.SIZE", True, "BINARY.SIZE[2.1]"),
    ]
    for bad in (b"a FETCH 1 BINARY[TEXT]", b"a FETCH 1 BINARY[1.MIME]", b"a FETCH 1 BINARY.SIZE"):
        with pytest.raises(ParseError):
            parse_command(bad)
