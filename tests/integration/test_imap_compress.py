"""COMPRESS=DEFLATE (RFC 4978) over a real socket: a raw client that deflates with zlib."""

from __future__ import annotations

import socket
import zlib

import pytest
from support.imap import ALICE, RawClient, ServerHarness, sample_message

PASSWORD = "alice password"

pytestmark = pytest.mark.imap_server()


class DeflateClient:
    """Speaks IMAP through raw deflate both ways, on a socket after COMPRESS's OK."""

    def __init__(self, sock: socket.socket, leftover: bytes = b"") -> None:
        self.sock = sock
        self.deflate = zlib.compressobj(6, zlib.DEFLATED, -15)
        self.inflate = zlib.decompressobj(-15)
        self.buffer = self.inflate.decompress(leftover)
        self.wire_bytes = 0

    def send(self, data: bytes) -> None:
        """Compress, flush and send."""
        self.sock.sendall(self.deflate.compress(data) + self.deflate.flush(zlib.Z_SYNC_FLUSH))

    def until_tagged(self, tag: bytes) -> bytes:
        """Inflated bytes up to and including the line tagged ``tag``."""
        while not (self.buffer.startswith(tag + b" ") or b"\r\n" + tag + b" " in self.buffer) or (
            not self.buffer.endswith(b"\r\n")
        ):
            chunk = self.sock.recv(65536)
            if not chunk:
                break
            self.wire_bytes += len(chunk)
            self.buffer += self.inflate.decompress(chunk)
        data, self.buffer = self.buffer, b""
        return data

    def command(self, tag: bytes, text: bytes) -> bytes:
        """Send one command; every response line up to its tagged reply."""
        self.send(tag + b" " + text + b"\r\n")
        return self.until_tagged(tag)


def compressed(harness: ServerHarness) -> DeflateClient:
    """A logged-in connection with COMPRESS DEFLATE active."""
    raw = RawClient(harness.server.host, harness.server.port)
    assert b"COMPRESS=DEFLATE" in raw.greeting
    assert raw.command(b"C0", b"COMPRESS DEFLATE")[-1].startswith(b"C0 BAD")  # log in first
    assert raw.command(b"L", f'LOGIN {ALICE} "{PASSWORD}"'.encode())[-1].startswith(b"L OK")
    assert raw.command(b"C1", b"COMPRESS LZ4")[-1].startswith(b"C1 BAD")
    assert raw.command(b"C", b"COMPRESS DEFLATE") == [b"C OK DEFLATE active"]
    return DeflateClient(raw.sock, raw.buffer)


def test_compressed_session(harness: ServerHarness) -> None:
    client = compressed(harness)
    reply = client.command(b"A", b"CAPABILITY")
    assert b"* CAPABILITY" in reply and reply.endswith(b"A OK CAPABILITY completed\r\n")
    assert b"C2 NO [COMPRESSIONACTIVE]" in client.command(b"C2", b"COMPRESS DEFLATE")
    message = sample_message("compressed", "z" * 20000)
    client.send(b"P APPEND INBOX {%d+}\r\n" % len(message) + message + b"\r\n")
    assert b"P OK [APPENDUID" in client.until_tagged(b"P")
    assert b"S OK" in client.command(b"S", b"SELECT INBOX")
    before = client.wire_bytes
    fetched = client.command(b"F", b"FETCH 1:* BODY.PEEK[]")
    assert b"z" * 20000 in fetched and b"F OK" in fetched
    assert client.wire_bytes - before < 2000  # 20 kB of one letter deflates to little
    assert b"* BYE" in client.command(b"B", b"LOGOUT")
    client.sock.close()


def test_idle_under_compression(harness: ServerHarness) -> None:
    client = compressed(harness)
    assert b"S OK" in client.command(b"S", b"SELECT INBOX")
    client.send(b"I IDLE\r\n")
    while b"+ " not in client.buffer:
        client.buffer += client.inflate.decompress(client.sock.recv(4096))
    client.buffer = b""
    client.send(b"DONE\r\n")
    assert b"I OK" in client.until_tagged(b"I")
    client.sock.close()


def test_garbage_after_compress_ends_the_session(harness: ServerHarness) -> None:
    client = compressed(harness)
    client.sock.sendall(b"this is not a deflate stream \xff\xfe" * 10)
    client.sock.settimeout(10)
    while client.sock.recv(4096):  # the server ends the session (no traceback: checked at stop)
        pass
    assert client.sock.recv(4096) == b""
    client.sock.close()
