"""What Dovecot's imaptest scripted groups found, over real sockets (imaplib, IMAPClient, raw).

Each test is one group that failed on mailrs: sort-addresses and sort-display-to (group
syntax in address headers), fetch-binary-mime-qp (RFC 2045 quoted-printable decoding),
append-binary (literal8 with NUL), esearch-condstore (HIGHESTMODSEQ when a command
enables CONDSTORE, MODSEQ of a lone MIN/MAX) and listext (CHILDINFO under RECURSIVEMATCH).
"""

from __future__ import annotations

import imaplib
import re

import pytest
from imapclient import IMAPClient
from support.imap import ALICE, RawClient, ServerHarness

PASSWORD = "alice password"

pytestmark = pytest.mark.imap_server()


def _login(harness: ServerHarness) -> RawClient:
    conn = RawClient(harness.server.host, harness.server.port)
    assert conn.command(b"L", f'LOGIN {ALICE} "{PASSWORD}"'.encode())[-1].startswith(b"L OK")
    return conn


def _append_all(harness: ServerHarness, folder: str, messages: list[bytes]) -> None:
    conn = imaplib.IMAP4(harness.server.host, harness.server.port, timeout=15)
    conn.login(ALICE, PASSWORD)
    conn.create(folder)
    for data in messages:
        assert conn.append(folder, None, None, data)[0] == "OK"
    conn.logout()


def _header_message(**fields: str) -> bytes:
    lines = [f"{name.replace('_', '-')}: {value}" for name, value in fields.items()]
    return ("\r\n".join(lines) + "\r\n\r\nbody\r\n").encode()


def test_sort_by_address_counts_a_group_by_its_name(harness: ServerHarness) -> None:
    """RFC 5256 CC and RFC 5957 DISPLAYTO: a group's name is its first address."""
    _append_all(
        harness,
        "Groups",
        [
            _header_message(From="a@x.test", To="foo bar <user2@d2.test>", Cc="user2@d2.test"),
            _header_message(From="b@x.test", To="zed: aa@aa.test, bb@bb.test;", Cc="user2: x@y;"),
            _header_message(From="c@x.test", To="empty:;", Cc="user1@d1.test"),
            _header_message(From="d@x.test", To="alpha: xx@xx.test;", Cc="user3@d1.test"),
        ],
    )
    client = IMAPClient(harness.server.host, harness.server.port, ssl=False, timeout=15)
    client.login(ALICE, PASSWORD)
    client.select_folder("Groups")
    # CC local parts: user2, user2 (group), user1, user3; ties keep sequence order
    assert client.sort(["CC"]) == [3, 1, 2, 4]
    assert client.sort(["REVERSE", "CC"]) == [4, 1, 2, 3]
    # DISPLAYTO: "foo bar", "zed", "empty", "alpha"
    assert client.sort(["DISPLAYTO"]) == [4, 3, 1, 2]
    client.logout()


QP_MESSAGE = (
    b"From: user@example.test\r\nMIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=us-ascii\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
    b"hello  \r\nbar=\r\n\r\nfoo\t \t= \r\n=62\r\nfoo =  \t\r\nbar\r\na=3d=3D==41 x=zz\r\n"
)


def test_binary_undoes_quoted_printable_as_rfc_2045_says(harness: ServerHarness) -> None:
    """Trailing blanks dropped, soft breaks with blanks after ``=``, lowercase hex,
    a stray ``=`` kept; BINARY.SIZE agrees with BINARY."""
    _append_all(harness, "Qp", [QP_MESSAGE])
    expected = b"hello\r\nbar\r\nfoo\t \tb\r\nfoo bar\r\na===A x=zz\r\n"
    conn = imaplib.IMAP4(harness.server.host, harness.server.port, timeout=15)
    conn.login(ALICE, PASSWORD)
    conn.select("Qp", readonly=True)
    typ, data = conn.fetch("1", "(BINARY.SIZE[1] BINARY.PEEK[1])")
    assert typ == "OK"
    assert data[0][1] == expected  # type: ignore[index]
    assert f"BINARY.SIZE[1] {len(expected)}".encode() in data[0][0]  # type: ignore[index]
    typ, data = conn.fetch("1", "(BINARY.PEEK[1]<10.12>)")
    assert data[0][1] == expected[10:22]  # type: ignore[index]
    conn.logout()


def test_literal8_with_nul_is_stored_base64_and_binary_gives_the_bytes(
    harness: ServerHarness,
) -> None:
    """No IMAP literal may carry NUL: BODY[1] comes back base64, BINARY[1] the exact
    bytes (bare LFs kept), as Dovecot does."""
    body = b"\x00-\xe4\n\r\n\n"
    message = (
        b"From: user@example.test\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n"
        + body
    )
    conn = _login(harness)
    assert conn.command(b"C", b"CREATE Nul")[-1].startswith(b"C OK")
    conn.send(b"A APPEND Nul ~{%d}\r\n" % len(message))
    assert conn.read_line().startswith(b"+")
    conn.send(message + b"\r\n")
    assert conn.until_tagged(b"A")[-1].startswith(b"A OK")
    assert conn.command(b"S", b"EXAMINE Nul")[-1].startswith(b"S OK")
    conn.send(b"F FETCH 1 (BINARY.SIZE[1] BINARY.PEEK[1])\r\n")
    assert conn.read_line() == b"* 1 FETCH (BINARY.SIZE[1] 7 BINARY[1] ~{7}"
    assert conn.read_exact(7) == body
    assert conn.until_tagged(b"F")[-1].startswith(b"F OK")
    conn.send(b"G FETCH 1 (BODY.PEEK[])\r\n")
    first = conn.read_line()
    size = int(re.search(rb"\{(\d+)\}$", first).group(1))  # type: ignore[union-attr]
    stored = conn.read_exact(size)
    assert conn.until_tagged(b"G")[-1].startswith(b"G OK")
    assert b"\x00" not in stored
    assert b"Content-Transfer-Encoding: base64\r\n\r\nAC3kCg0KCg==" in stored
    conn.close()


def test_condstore_enabling_command_reports_highestmodseq_and_lone_min_max_modseq(
    harness: ServerHarness,
) -> None:
    """RFC 7162 3.1: FETCH MODSEQ in the selected state enables CONDSTORE and answers
    an untagged OK [HIGHESTMODSEQ]; 3.1.5: a lone MIN or MAX names that message's MODSEQ."""
    _append_all(harness, "Modseq", [_header_message(Subject=str(n)) for n in range(3)])
    conn = _login(harness)
    assert conn.command(b"S", b"SELECT Modseq")[-1].startswith(b"S OK")
    lines = conn.command(b"F", b"FETCH 1 MODSEQ")
    assert any(re.match(rb"\* OK \[HIGHESTMODSEQ \d+\]", line) for line in lines), lines
    modseqs = {}
    for seq in (1, 3, 2):  # the middle message changes last: highest MODSEQ
        lines = conn.command(b"T", b"STORE %d +FLAGS (\\Seen)" % seq)
        modseqs[seq] = int(re.search(rb"MODSEQ \((\d+)\)", lines[0]).group(1))  # type: ignore[union-attr]
    search = b'SEARCH RETURN (%s) 1:3 MODSEQ "/flags/\\\\seen" all 1'
    lines = conn.command(b"A", search % b"MIN")
    assert lines[0] == b'* ESEARCH (TAG "A") MIN 1 MODSEQ %d' % modseqs[1]
    lines = conn.command(b"B", search % b"MAX")
    assert lines[0] == b'* ESEARCH (TAG "B") MAX 3 MODSEQ %d' % modseqs[3]
    lines = conn.command(b"C", search % b"MIN MAX")
    assert lines[0] == b'* ESEARCH (TAG "C") MIN 1 MAX 3 MODSEQ %d' % modseqs[2]
    conn.close()


def test_recursivematch_childinfo_only_for_children_not_listed_themselves(
    harness: ServerHarness,
) -> None:
    """RFC 5258 3.5: a parent gets CHILDINFO for a subscribed child the patterns did
    not list; when the child is listed itself, the unsubscribed parent is not."""
    conn = _login(harness)
    for name in (b"Tree", b"Tree/Leaf"):
        assert conn.command(b"C", b"CREATE " + name)[-1].startswith(b"C OK")
    assert conn.command(b"U", b"SUBSCRIBE Tree/Leaf")[-1].startswith(b"U OK")
    lines = conn.command(b"L", b'LIST (SUBSCRIBED RECURSIVEMATCH) "" (Tree)')
    assert lines[:-1] == [b'* LIST (\\HasChildren) "/" Tree ("CHILDINFO" ("SUBSCRIBED"))']
    lines = conn.command(b"M", b'LIST (SUBSCRIBED RECURSIVEMATCH) "" (Tree Tree/Leaf)')
    assert lines[:-1] == [b'* LIST (\\HasNoChildren \\Subscribed) "/" Tree/Leaf']
    conn.close()


def test_pipelined_status_after_a_folder_is_deleted_and_made_again(
    harness: ServerHarness,
) -> None:
    """imaptest's pipeline group: DELETE, CREATE, then STATUS of each, pipelined; a folder
    made again under a watched name once answered NO [SERVERBUG] (no index row yet)."""
    conn = _login(harness)
    names = [b"Again", b"Again2", b"Again3", b"Again4"]
    for rounds in range(3):
        for verb in (b"DELETE", b"CREATE") if rounds else (b"CREATE",):
            conn.send(
                b"".join(b"%s%d %s %s\r\n" % (verb[:1], i, verb, n) for i, n in enumerate(names))
            )
            for i in range(len(names)):
                assert conn.until_tagged(b"%s%d" % (verb[:1], i))[-1].split()[1] == b"OK"
        conn.send(b"".join(b"S%d STATUS %s (MESSAGES)\r\n" % (i, n) for i, n in enumerate(names)))
        for i, name in enumerate(names):
            reply = conn.until_tagged(b"S%d" % i)
            assert reply == [b"* STATUS %s (MESSAGES 0)" % name, b"S%d OK STATUS completed" % i]
    conn.close()
