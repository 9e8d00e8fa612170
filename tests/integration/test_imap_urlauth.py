"""URLAUTH (RFC 4467) and URLAUTH=BINARY (RFC 5524) over real sockets.

Alice authorizes URLs to her messages with GENURLAUTH; who may URLFETCH them follows
the access identifier (``user+``, ``authuser``, ``anonymous``; ``submit+`` is for a
submission server, which no IMAP session is). Every URL that does not verify gives
NIL: a wrong or tampered token, another user's ``user+`` URL, an expired one, a reset
key, a malformed URL. Malformed commands answer BAD, refused ones NO; never a crash.
"""

from __future__ import annotations

import base64
import datetime as dt
import imaplib
import re
import time

import pytest
from support.imap import ALICE, RawClient, ServerHarness

PASSWORD = "alice password"
BOB = "bob@example.test"
BOB_PASSWORD = "bob password"
MULTIPART = (
    b"From: Bob <bob@example.test>\r\nTo: alice@example.test\r\nSubject: parts\r\n"
    b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
    b"--b\r\nContent-Type: text/plain\r\n\r\nfirst part\r\n"
    b"--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    + base64.encodebytes(b"\x01\x02binary\xff").replace(b"\n", b"\r\n")
    + b"--b--\r\n"
)
LITERAL = re.compile(rb"~?\{(\d+)\}$")
URL_RE = re.compile(rb"^\* GENURLAUTH \"?([^\"]+)\"?$")

pytestmark = pytest.mark.imap_server()


def login(harness: ServerHarness, user: str = ALICE, password: str = PASSWORD) -> RawClient:
    """A raw client logged in."""
    conn = RawClient(harness.server.host, harness.server.port)
    reply = conn.command(b"L", f'LOGIN {user} "{password}"'.encode())
    assert reply[-1].startswith(b"L OK"), reply
    return conn


@pytest.fixture(scope="module")
def uids(harness: ServerHarness) -> list[int]:
    """Two messages in Alice's folder Shared: a plain one and a multipart one."""
    conn = imaplib.IMAP4(harness.server.host, harness.server.port, timeout=15)
    conn.login(ALICE, PASSWORD)
    conn.create("Shared")
    found = []
    for data in (b"Subject: plain\r\n\r\nhello there\r\n", MULTIPART):
        typ, reply = conn.append("Shared", None, None, data)
        assert typ == "OK"
        found.append(int(reply[0].split(b"]")[0].split()[-1]))
    conn.logout()
    return found


def rump(uid: int, access: str, extra: str = "") -> str:
    """A rump URL to Alice's message ``uid`` in Shared."""
    return f"imap://alice@example.test/Shared/;uid={uid}{extra};urlauth={access}"


def generate(conn: RawClient, url: str) -> str:
    """GENURLAUTH one rump URL with INTERNAL; the authorized URL."""
    reply = conn.command(b"G", f'GENURLAUTH "{url}" INTERNAL'.encode())
    assert reply[-1].startswith(b"G OK"), reply
    match = URL_RE.match(reply[0])
    assert match, reply
    return match.group(1).decode()


def fetch(conn: RawClient, url: str, params: str = "") -> bytes:
    """URLFETCH one URL; the whole response (untagged lines and literal data)."""
    arg = f'("{url}" {params})' if params else f'"{url}"'
    conn.send(f"F URLFETCH {arg}\r\n".encode())
    out = b""
    while True:
        line = conn.read_line()
        assert line, out
        out += line + b"\r\n"
        while (size := LITERAL.search(line)) is not None:
            out += conn.read_exact(int(size.group(1)))
            line = conn.read_line()
            out += line + b"\r\n"
        if line.startswith(b"F "):
            assert line.startswith(b"F OK"), out
            return out


def test_capabilities(harness: ServerHarness, uids: list[int]) -> None:
    conn = imaplib.IMAP4(harness.server.host, harness.server.port, timeout=15)
    conn.login(ALICE, PASSWORD)
    assert "URLAUTH" in conn.capabilities and "URLAUTH=BINARY" in conn.capabilities
    conn.logout()


def test_genurlauth_and_urlfetch_for_the_named_user(
    harness: ServerHarness, uids: list[int]
) -> None:
    alice = login(harness)
    url = generate(alice, rump(uids[0], "user+alice@example.test"))
    assert url.startswith(rump(uids[0], "user+alice@example.test") + ":internal:")
    assert len(url.rsplit(":", 1)[1]) >= 32
    assert b"{31}\r\nSubject: plain\r\n\r\nhello there\r\n" in fetch(alice, url)
    # Bob is not the user the URL names: NIL, and the command still succeeds
    bob = login(harness, BOB, BOB_PASSWORD)
    assert fetch(bob, url).split(b"\r\n")[0].endswith(b" NIL")
    alice.close()
    bob.close()


def test_authuser_url_is_fetched_by_another_user(harness: ServerHarness, uids: list[int]) -> None:
    alice = login(harness)
    url = generate(alice, rump(uids[0], "authuser"))
    bob = login(harness, BOB, BOB_PASSWORD)
    assert b"hello there" in fetch(bob, url)
    # tampered: another UID under the same token, a flipped token digit
    other = url.replace(f";uid={uids[0]};", f";uid={uids[1]};")
    assert fetch(bob, other).split(b"\r\n")[0].endswith(b" NIL")
    flipped = url[:-1] + ("0" if url[-1] != "0" else "1")
    assert fetch(bob, flipped).split(b"\r\n")[0].endswith(b" NIL")
    alice.close()
    bob.close()


def test_submit_url_is_not_for_imap_sessions(harness: ServerHarness, uids: list[int]) -> None:
    alice = login(harness)
    url = generate(alice, rump(uids[0], "submit+alice@example.test"))
    assert fetch(alice, url).split(b"\r\n")[0].endswith(b" NIL")
    alice.close()


def test_resetkey_revokes(harness: ServerHarness, uids: list[int]) -> None:
    alice = login(harness)
    url = generate(alice, rump(uids[0], "authuser"))
    assert b"hello there" in fetch(alice, url)
    reply = alice.command(b"R", b"RESETKEY Shared INTERNAL")
    assert reply[-1].startswith(b"R OK [URLMECH INTERNAL]"), reply
    assert fetch(alice, url).split(b"\r\n")[0].endswith(b" NIL")
    again = generate(alice, rump(uids[0], "authuser"))
    assert again != url and b"hello there" in fetch(alice, again)
    assert alice.command(b"R2", b"RESETKEY")[-1].startswith(b"R2 OK")
    assert fetch(alice, again).split(b"\r\n")[0].endswith(b" NIL")
    alice.close()


def test_expired_urls(harness: ServerHarness, uids: list[int]) -> None:
    alice = login(harness)
    past = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    reply = alice.command(
        b"G", f'GENURLAUTH "{rump(uids[0], "authuser", ";expire=" + past)}" INTERNAL'.encode()
    )
    assert reply[-1].startswith(b"G NO"), reply
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    url = generate(alice, rump(uids[0], "authuser", ";expire=" + later.isoformat()))
    assert b"hello there" in fetch(alice, url)
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    short = generate(alice, rump(uids[0], "authuser", ";expire=" + soon.isoformat()))
    time.sleep(max(0.0, (soon - dt.datetime.now(dt.UTC)).total_seconds()) + 0.2)
    assert fetch(alice, short).split(b"\r\n")[0].endswith(b" NIL")
    alice.close()


def test_binary_and_bodypartstructure(harness: ServerHarness, uids: list[int]) -> None:
    alice = login(harness)
    url = generate(alice, rump(uids[1], "user+alice@example.test", "/;section=2"))
    both = fetch(alice, url, "BINARY BODYPARTSTRUCTURE")
    assert b'(BODYPARTSTRUCTURE ("application" "octet-stream" NIL NIL NIL "8bit" 9' in both
    assert b"(BINARY {9}\r\n\x01\x02binary\xff)" in both
    plain = fetch(alice, url, "BODYPARTSTRUCTURE")
    assert b'"base64"' in plain and b"BINARY" not in plain
    body = fetch(alice, url, "BODY")
    assert b"(BODY {" in body and base64.b64encode(b"\x01\x02binary\xff") in body
    alice.close()


@pytest.mark.parametrize(
    "command",
    [
        b"GENURLAUTH",
        b'GENURLAUTH "imap://alice@example.test/Shared/;uid=1;urlauth=authuser"',
        b"URLFETCH",
        b'URLFETCH ("imap://x" BODY BINARY)',
        b'URLFETCH ("imap://x" FROBNICATE)',
        b"RESETKEY Shared (INTERNAL)",
    ],
)
def test_malformed_commands_answer_bad(
    harness: ServerHarness, uids: list[int], command: bytes
) -> None:
    alice = login(harness)
    assert alice.command(b"B", command)[-1].startswith(b"B BAD")
    assert alice.command(b"N", b"NOOP")[-1].startswith(b"N OK")
    alice.close()


@pytest.mark.parametrize(
    "url",
    [
        "imap://alice@example.test/Shared/;uid=1;urlauth=authuser:internal:" + "0" * 66,
        "imap://alice@example.test/Nowhere/;uid=1;urlauth=authuser:internal:" + "0" * 66,
        "imap://alice@example.test/Shared/;uid=1;urlauth=authuser:other:" + "0" * 66,
        "imap://alice@example.test/Shared/;uid=1;urlauth=authuser",
        "imap://alice@example.test/Shared/;uid=1",
        "imap://example.test/Shared/;uid=1;urlauth=authuser:internal:" + "0" * 66,
        "imap://alice@example.test/Shared/;uid=0;urlauth=authuser:internal:" + "0" * 66,
        "imap://alice@example.test/Sh%FFared/;uid=1;urlauth=authuser:internal:" + "0" * 66,
        "imap://alice@example.test/Shared/;uid=1;expire=never;urlauth=authuser:internal:"
        + "0" * 66,
        "imap://nobody@example.test/INBOX/;uid=1;urlauth=anonymous:internal:" + "0" * 66,
        "http://example.test/",
        "x" * 9000,
    ],
)
def test_bad_urls_fetch_nil(harness: ServerHarness, uids: list[int], url: str) -> None:
    alice = login(harness)
    assert fetch(alice, url).split(b"\r\n")[0].endswith(b" NIL")
    alice.close()


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("imap://bob@example.test/INBOX/;uid=1;urlauth=authuser", b"another user"),
        ("imap://alice@example.test/Shared/;uid=999;urlauth=authuser", b"No such message"),
        ("imap://alice@example.test/Nowhere/;uid=1;urlauth=authuser", b"No such message"),
        ("imap://alice@example.test/Shared/;uid=1", b"rump"),
        ("imap://alice@example.test/Shared/;uid=1;urlauth=user+", b"Invalid URL"),
        ("imap://alice@example.test/Shared/;uid=1;urlauth=authuser:internal:" + "0" * 40, b"rump"),
    ],
)
def test_genurlauth_refusals(harness: ServerHarness, uids: list[int], url: str, why: bytes) -> None:
    alice = login(harness)
    reply = alice.command(b"G", f'GENURLAUTH "{url}" INTERNAL'.encode())
    assert reply[-1].startswith(b"G NO") and why in reply[-1], reply
    reply = alice.command(b"M", f'GENURLAUTH "{rump(uids[0], "authuser")}" XOAUTH'.encode())
    assert reply[-1].startswith(b"M NO"), reply
    reply = alice.command(b"K", b"RESETKEY Nowhere")
    assert reply[-1].startswith(b"K NO [NONEXISTENT]"), reply
    alice.close()


def test_other_users_key_does_not_sign_alices_urls(harness: ServerHarness, uids: list[int]) -> None:
    """Bob's own mailbox key (same mailbox name, same UID) does not make Alice's URL."""
    bob = login(harness, BOB, BOB_PASSWORD)
    assert bob.command(b"C", b"CREATE Shared")[-1].startswith(b"C OK")
    data = b"Subject: bobs\r\n\r\nbob secret\r\n"
    bob.send(b"A APPEND Shared {%d}\r\n" % len(data))
    assert bob.read_line().startswith(b"+")
    bob.send(data + b"\r\n")
    appended = bob.until_tagged(b"A")[-1]
    uid = int(appended.split(b"]")[0].split()[-1])
    bobs = generate(bob, f"imap://bob@example.test/Shared/;uid={uid};urlauth=authuser")
    forged = bobs.replace("imap://bob@", "imap://alice@")
    alice = login(harness)
    assert fetch(alice, forged).split(b"\r\n")[0].endswith(b" NIL")
    assert b"bob secret" in fetch(alice, bobs)
    alice.close()
    bob.close()
