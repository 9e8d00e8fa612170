"""CONTEXT=SEARCH (RFC 5267): live SEARCH results (ADDTO / REMOVEFROM) and CANCELUPDATE.

The same steps as imaptest's search-context-update scripts, over real sockets: changes
made by the session itself and by another session (imaplib), expunges (REMOVEFROM before
the EXPUNGE, numbered as the client still numbers), UID contexts and IDLE.
"""

from __future__ import annotations

import imaplib

import pytest
from support.imap import ALICE, RawClient, ServerHarness, sample_message

PASSWORD = "alice password"

pytestmark = pytest.mark.imap_server()


def raw(harness: ServerHarness, folder: str) -> RawClient:
    """A raw client logged in as Alice with ``folder`` selected."""
    conn = RawClient(harness.server.host, harness.server.port)
    assert conn.command(b"L", f'LOGIN {ALICE} "{PASSWORD}"'.encode())[-1].startswith(b"L OK")
    assert conn.command(b"S", f"SELECT {folder}".encode())[-1].startswith(b"S OK")
    return conn


def make_folder(harness: ServerHarness, name: str, count: int) -> None:
    conn = imaplib.IMAP4(harness.server.host, harness.server.port, timeout=15)
    conn.login(ALICE, PASSWORD)
    conn.create(name)
    for n in range(count):
        conn.append(name, None, None, sample_message(f"s{n}", body=f"body {n}"))
    conn.logout()


def test_capability(harness: ServerHarness) -> None:
    conn = imaplib.IMAP4(harness.server.host, harness.server.port, timeout=15)
    conn.login(ALICE, PASSWORD)
    assert "CONTEXT=SEARCH" in conn.capabilities and "ESEARCH" in conn.capabilities
    conn.logout()


def test_own_changes_and_expunges_update_the_result(harness: ServerHarness) -> None:
    make_folder(harness, "Live", 6)
    conn = raw(harness, "Live")
    assert conn.command(b"A", b"SEARCH RETURN (UPDATE) BODY body SEEN") == [
        b'* ESEARCH (TAG "A")',
        b"A OK SEARCH completed",
    ]
    assert conn.command(b"B", b"STORE 1,2,5 +FLAGS.SILENT (\\Seen)") == [
        b'* ESEARCH (TAG "A") ADDTO (0 1:2,5)',
        b"B OK STORE completed",
    ]
    assert conn.command(b"C", b"STORE 1,2 -FLAGS.SILENT (\\Seen)") == [
        b'* ESEARCH (TAG "A") REMOVEFROM (0 1:2)',
        b"C OK STORE completed",
    ]
    conn.command(b"D", b"STORE 3:6 +FLAGS.SILENT (\\Deleted)")
    assert conn.command(b"E", b"EXPUNGE") == [
        b'* ESEARCH (TAG "A") REMOVEFROM (0 5)',  # before the EXPUNGE renumbers it
        b"* 3 EXPUNGE",
        b"* 3 EXPUNGE",
        b"* 3 EXPUNGE",
        b"* 3 EXPUNGE",
        b"E OK EXPUNGE completed",
    ]
    assert conn.command(b"F", b'CANCELUPDATE "A"') == [b"F OK CANCELUPDATE completed"]
    assert conn.command(b"G", b"STORE 1 +FLAGS.SILENT (\\Seen)") == [b"G OK STORE completed"]
    conn.close()


def test_another_sessions_changes_reach_a_uid_context(harness: ServerHarness) -> None:
    make_folder(harness, "Shared", 5)
    conn = raw(harness, "Shared")
    uids = [int(u) for u in conn.command(b"U", b"UID SEARCH ALL")[0].split()[2:]]
    conn.command(b"P", b"STORE 1,2 +FLAGS.SILENT (\\Seen)")
    lines = conn.command(b"Q", b"UID SEARCH RETURN (UPDATE ALL COUNT) OR SEEN SUBJECT s3")
    assert lines[0] == b'* ESEARCH (TAG "Q") UID ALL %d:%d,%d COUNT 3' % (
        uids[0],
        uids[1],
        uids[3],
    )
    other = imaplib.IMAP4(harness.server.host, harness.server.port, timeout=15)
    other.login(ALICE, PASSWORD)
    other.select("Shared")
    other.store("5", "+FLAGS", "(\\Seen)")
    other.store("1", "-FLAGS", "(\\Seen)")
    lines = conn.command(b"N", b"NOOP")
    assert b'* ESEARCH (TAG "Q") UID REMOVEFROM (0 %d)' % uids[0] in lines
    assert b'* ESEARCH (TAG "Q") UID ADDTO (0 %d)' % uids[4] in lines
    # a new message that matches, delivered by another session, while this one idles
    conn.send(b"I IDLE\r\n")
    assert conn.read_line().startswith(b"+ ")
    other.append("Shared", "(\\Seen)", None, sample_message("late"))
    seen = [conn.read_line() for _ in range(3)]
    assert b"* 6 EXISTS" in seen
    assert b'* ESEARCH (TAG "Q") UID ADDTO (0 %d)' % (uids[4] + 1) in seen
    conn.send(b"DONE\r\n")
    assert conn.until_tagged(b"I")[-1] == b"I OK IDLE terminated"
    # the other session expunges one of the results: REMOVEFROM with its UID
    other.store("2", "+FLAGS", "(\\Deleted)")
    other.expunge()
    lines = conn.command(b"M", b"NOOP")
    assert lines[:2] == [b'* ESEARCH (TAG "Q") UID REMOVEFROM (0 %d)' % uids[1], b"* 2 EXPUNGE"]
    other.logout()
    conn.close()


def test_imaplib_live_search_and_errors(harness: ServerHarness) -> None:
    make_folder(harness, "Client", 3)
    conn = imaplib.IMAP4(harness.server.host, harness.server.port, timeout=15)
    conn.login(ALICE, PASSWORD)
    conn.select("Client")
    typ, _ = conn.search(None, "RETURN (UPDATE COUNT) FLAGGED")
    assert typ == "OK"
    assert conn.response("ESEARCH")[1][0].endswith(b"COUNT 0")
    conn.store("2", "+FLAGS", "(\\Flagged)")
    found = conn.response("ESEARCH")[1]
    assert found and found[0].endswith(b"ADDTO (0 2)")
    # imaplib has no wrapper for ESORT's RETURN, and none at all for CANCELUPDATE
    typ, _ = conn._simple_command("SORT", "RETURN (UPDATE) (DATE) UTF-8 ALL")  # CONTEXT=SORT
    assert typ == "OK"
    conn.logout()
    conn = raw(harness, "Client")
    assert conn.command(b"A", b"CANCELUPDATE")[-1].startswith(b"A BAD")
    assert conn.command(b"B", b"CANCELUPDATE A")[-1].startswith(b"B BAD")  # a string, not atom
    assert conn.command(b"C", b'CANCELUPDATE "unknown"') == [b"C OK CANCELUPDATE completed"]
    conn.close()
