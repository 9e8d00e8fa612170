"""TLS, authentication and limits of the IMAP server: STARTTLS, implicit TLS, LOGINDISABLED,
AUTHENTICATE PLAIN, login throttling, connection and literal limits."""

from __future__ import annotations

import base64
import imaplib
import socket
import ssl

import pytest
from imapclient import IMAPClient
from support.imap import ALICE, RawClient, ServerHarness

PASSWORD = "alice password"
MAX_PER_IP = 6


pytestmark = pytest.mark.imap_server(
    tls=True,
    env={
        "MAILRS_IMAP_PLAINTEXT_AUTH": "never",
        "MAILRS_IMAP_MAX_LITERAL_BYTES": "100000",
        "MAILRS_IMAP_MAX_CONNECTIONS_PER_IP": str(MAX_PER_IP),
        "MAILRS_IMAP_MAX_CONNECTIONS_PER_USER": "3",
        "MAILRS_AUTH_MAX_FAILURES_PER_ACCOUNT": "3",
        "MAILRS_AUTH_MAX_FAILURES_PER_IP": "100",
        "MAILRS_AUTH_BASE_DELAY_SECS": "0",
    },
)


def client_context() -> ssl.SSLContext:
    """A client context for the self-signed test certificate."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def test_plaintext_login_is_refused_and_starttls_allows_it(harness: ServerHarness) -> None:
    conn = RawClient(harness.server.host, harness.server.port)
    assert b"STARTTLS" in conn.greeting and b"LOGINDISABLED" in conn.greeting
    assert b"AUTH=PLAIN" not in conn.greeting
    refused = conn.command(b"a", f'LOGIN {ALICE} "{PASSWORD}"'.encode())
    assert refused[-1].startswith(b"a NO [PRIVACYREQUIRED]")
    assert conn.command(b"b", b"AUTHENTICATE PLAIN")[-1].startswith(b"b NO [PRIVACYREQUIRED]")
    conn.close()
    imap = imaplib.IMAP4(harness.server.host, harness.server.port, timeout=10)
    imap.starttls(client_context())
    assert "AUTH=PLAIN" in imap.capabilities and "LOGINDISABLED" not in imap.capabilities
    assert "STARTTLS" not in imap.capabilities
    assert imap.login(ALICE, PASSWORD)[0] == "OK"
    assert imap.select("INBOX")[0] == "OK"
    imap.logout()


def test_implicit_tls_and_authenticate_plain(harness: ServerHarness) -> None:
    port = harness.tls_port
    client = IMAPClient("127.0.0.1", port, ssl=True, ssl_context=client_context(), timeout=10)
    assert b"AUTH=PLAIN" in client.capabilities()
    client.plain_login(ALICE, PASSWORD)
    assert client.list_folders()
    client.logout()
    imap = imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=client_context(), timeout=10)
    assert imap.authenticate("PLAIN", lambda _: f"\0{ALICE}\0{PASSWORD}".encode())[0] == "OK"
    imap.logout()


def tls_raw(harness: ServerHarness) -> tuple[ssl.SSLSocket, bytes]:
    """A TLS socket to the implicit-TLS port and its greeting."""
    sock = socket.create_connection(("127.0.0.1", harness.tls_port), timeout=10)
    tls = client_context().wrap_socket(sock, server_hostname="localhost")
    return tls, tls.recv(4096)


def exchange(sock: ssl.SSLSocket, data: bytes, tag: bytes) -> bytes:
    """Send bytes, read until the tagged reply."""
    sock.sendall(data)
    received = b""
    while not any(line.startswith(tag + b" ") for line in received.split(b"\r\n")):
        chunk = sock.recv(4096)
        if not chunk:
            break
        received += chunk
    return received


def test_authenticate_plain_variants_and_bad_input(harness: ServerHarness) -> None:
    sock, _ = tls_raw(harness)
    good = base64.b64encode(f"\0{ALICE}\0{PASSWORD}".encode())
    wrong = base64.b64encode(f"\0{ALICE}\0nope".encode())
    assert b"a BAD" in exchange(sock, b"a AUTHENTICATE PLAIN !!!\r\n", b"a")
    assert b"b BAD" in exchange(sock, b"b AUTHENTICATE PLAIN\r\n*\r\n", b"b")
    assert b"c NO [CANNOT]" in exchange(sock, b"c AUTHENTICATE CRAM-MD5\r\n", b"c")
    reply = exchange(sock, b"d AUTHENTICATE PLAIN " + wrong + b"\r\n", b"d")
    assert b"d NO [AUTHENTICATIONFAILED]" in reply
    reply = exchange(sock, b"e AUTHENTICATE PLAIN " + good + b"\r\n", b"e")
    assert b"e OK [CAPABILITY IMAP4rev1" in reply
    assert b"f BAD" in exchange(sock, b"f LOGIN x y\r\n", b"f")  # already logged in
    sock.close()


def test_failed_logins_are_throttled(harness: ServerHarness) -> None:
    sock, _ = tls_raw(harness)
    for n in range(3):
        reply = exchange(sock, b"t%d LOGIN bob@example.test wrong\r\n" % n, b"t%d" % n)
        assert b"NO [AUTHENTICATIONFAILED]" in reply
    reply = exchange(sock, b'ok LOGIN bob@example.test "bob password"\r\n', b"ok")
    assert b"ok NO [UNAVAILABLE]" in reply  # blocked even with the right password
    sock.close()


def test_connection_limits_per_ip_and_per_user(harness: ServerHarness) -> None:
    users = []
    for _ in range(3):
        sock, _ = tls_raw(harness)
        assert b"OK" in exchange(sock, f'u LOGIN {ALICE} "{PASSWORD}"\r\n'.encode(), b"u")
        users.append(sock)
    sock, _ = tls_raw(harness)
    assert b"u NO [LIMIT]" in exchange(sock, f'u LOGIN {ALICE} "{PASSWORD}"\r\n'.encode(), b"u")
    users.append(sock)
    extra = [RawClient(harness.server.host, harness.server.port) for _ in range(MAX_PER_IP - 4)]
    refused = RawClient(harness.server.host, harness.server.port)
    assert refused.greeting.startswith(b"* BYE")
    assert refused.is_closed()
    for conn in [*extra, refused]:
        conn.close()
    for sock in users:
        sock.close()


def test_too_large_literals_are_refused_before_reading(harness: ServerHarness) -> None:
    conn = RawClient(harness.server.host, harness.server.port)
    conn.send(b"a LOGIN {200000}\r\n")
    assert conn.read_line() == b"a BAD [TOOBIG] Literal too large"  # no "+": nothing was read
    assert conn.command(b"b", b"NOOP") == [b"b OK NOOP completed"]
    conn.send(b"c LOGIN {200000+}\r\n")
    assert conn.read_line() == b"c BAD [TOOBIG] Literal too large"
    assert conn.read_line().startswith(b"* BYE")
    assert conn.is_closed()
    conn.close()


def test_plaintext_pipelined_after_starttls_is_not_run(harness: ServerHarness) -> None:
    conn = RawClient(harness.server.host, harness.server.port)
    conn.send(b"s STARTTLS\r\nx CAPABILITY\r\n")
    assert conn.read_line() == b"s OK Begin TLS negotiation now"
    assert conn.is_closed()
    assert b"x OK" not in conn.received
    conn.close()
