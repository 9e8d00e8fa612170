"""CONTEXT=SORT (RFC 5267): live SORT results over real sockets, each change at its position.

A client applying the ADDTO / REMOVEFROM pairs to the list it was sent keeps the same
list as a fresh SORT: checked after changes of its own, another session's (imaplib),
an expunge and in UID form. Also PARTIAL with ESORT, as imaptest's sort-partial group.
"""

from __future__ import annotations

import imaplib
import re

import pytest
from support.imap import ALICE, RawClient, ServerHarness

PASSWORD = "alice password"

pytestmark = pytest.mark.imap_server()


def message(subject: str, size: int) -> bytes:
    """A message whose SIZE order is chosen by ``size``."""
    return f"From: bob@example.test\r\nSubject: {subject}\r\n\r\n{'x' * size}\r\n".encode()


def make_folder(harness: ServerHarness, name: str, sizes: list[int]) -> imaplib.IMAP4:
    """The folder with one message per size; an imaplib session on it (the other client)."""
    conn = imaplib.IMAP4(harness.server.host, harness.server.port, timeout=15)
    conn.login(ALICE, PASSWORD)
    conn.create(name)
    for n, size in enumerate(sizes):
        conn.append(name, None, None, message(f"m{n}", size))
    conn.select(name)
    return conn


def raw(harness: ServerHarness, folder: str) -> RawClient:
    conn = RawClient(harness.server.host, harness.server.port)
    assert conn.command(b"L", f'LOGIN {ALICE} "{PASSWORD}"'.encode())[-1].startswith(b"L OK")
    assert conn.command(b"S", f"SELECT {folder}".encode())[-1].startswith(b"S OK")
    return conn


def apply(result: list[int], lines: list[bytes], tag: bytes) -> list[int]:
    """The client's side: apply REMOVEFROM / ADDTO pairs one after another."""
    out = list(result)
    for line in lines:
        if not line.startswith(b'* ESEARCH (TAG "' + tag + b'")'):
            continue
        for kind, body in re.findall(rb"(ADDTO|REMOVEFROM) \(([^)]*)\)", line):
            items = [int(x) for x in body.split()]
            for position, number in zip(items[::2], items[1::2], strict=True):
                if kind == b"REMOVEFROM":
                    assert out[position - 1] == number, (out, line)
                    del out[position - 1]
                else:
                    out.insert(position - 1, number)
    return out


def fresh_sort(conn: RawClient, text: bytes) -> list[int]:
    lines = conn.command(b"Z", text)
    line = next(line for line in lines if line.startswith((b"* SORT", b"* ESEARCH")))
    return [int(x) for x in line.split()[2:]]


def test_capability_and_partial(harness: ServerHarness) -> None:
    other = make_folder(harness, "Partial", [50, 10, 40, 20, 30])
    other.logout()
    conn = raw(harness, "Partial")
    caps = conn.command(b"C", b"CAPABILITY")[0]
    assert b"CONTEXT=SORT" in caps and b"ESORT" in caps
    lines = conn.command(b"P", b"SORT RETURN (PARTIAL 2:4) (SIZE) US-ASCII ALL")
    assert lines[0] == b'* ESEARCH (TAG "P") PARTIAL (2:4 4:5,3)'
    assert conn.command(b"B", b"SORT RETURN (PARTIAL 1:*) (SIZE) US-ASCII ALL")[-1].startswith(
        b"B BAD"
    )
    conn.close()


def test_live_sort_follows_changes_at_their_positions(harness: ServerHarness) -> None:
    other = make_folder(harness, "LiveSort", [50, 10, 40, 20, 30, 60])
    conn = raw(harness, "LiveSort")
    query = b"SORT RETURN (ALL UPDATE) (REVERSE SIZE) US-ASCII UNSEEN"
    lines = conn.command(b"A", query)
    assert lines[0] == b'* ESEARCH (TAG "A") ALL 6,1,3,5,4,2'
    result = [6, 1, 3, 5, 4, 2]
    # own change: 3 and 4 are seen now, they leave at their positions, last first
    lines = conn.command(b"B", b"STORE 3,4 +FLAGS.SILENT (\\Seen)")
    assert lines[0] == b'* ESEARCH (TAG "A") REMOVEFROM (5 4 3 3)'
    result = apply(result, lines, b"A")
    assert result == [6, 1, 5, 2]
    # another session's change, and a new message, come back in sort order
    other.store("3", "-FLAGS", "(\\Seen)")
    other.append("LiveSort", None, None, message("big", 45))
    lines = conn.command(b"C", b"NOOP")
    result = apply(result, lines, b"A")
    query_now = b"SORT (REVERSE SIZE) US-ASCII UNSEEN"
    assert result == fresh_sort(conn, query_now) == [6, 1, 7, 3, 5, 2]
    # an expunge: REMOVEFROM at the position, before the EXPUNGE, in the old numbers
    conn.command(b"D", b"STORE 1 +FLAGS.SILENT (\\Deleted)")
    lines = conn.command(b"E", b"EXPUNGE")
    assert lines[0] == b'* ESEARCH (TAG "A") REMOVEFROM (2 1)' and lines[1] == b"* 1 EXPUNGE"
    result = [n - 1 for n in apply(result, lines, b"A")]  # renumbered by the EXPUNGE
    assert result == fresh_sort(conn, query_now)
    assert conn.command(b"F", b'CANCELUPDATE "A"')[-1].startswith(b"F OK")
    conn.command(b"G", b"STORE 1:* -FLAGS.SILENT (\\Seen)")
    assert conn.command(b"H", b"NOOP") == [b"H OK NOOP completed"]
    other.logout()
    conn.close()


def test_uid_live_sort(harness: ServerHarness) -> None:
    other = make_folder(harness, "UidSort", [30, 10, 20])
    conn = raw(harness, "UidSort")
    lines = conn.command(b"A", b"UID SORT RETURN (UPDATE) (SIZE) US-ASCII ALL")
    assert lines[0] == b'* ESEARCH (TAG "A") UID'
    result = fresh_sort(conn, b"UID SORT (SIZE) US-ASCII ALL")
    other.append("UidSort", None, None, message("small", 5))
    other.append("UidSort", None, None, message("middle", 25))
    lines = conn.command(b"B", b"NOOP")
    assert any(b" UID ADDTO (" in line for line in lines), lines
    assert apply(result, lines, b"A") == fresh_sort(conn, b"UID SORT (SIZE) US-ASCII ALL")
    other.logout()
    conn.close()
