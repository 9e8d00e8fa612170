"""ESEARCH (RFC 4731), SEARCHRES (RFC 5182), ESORT (RFC 5267) and PARTIAL (RFC 9394).

Over real sockets: imaplib (whose SEARCH/FETCH/STORE pass ``RETURN (...)`` and ``$``
through) and a raw client for the exact response bytes.
"""

from __future__ import annotations

import imaplib

import pytest
from support.imap import ALICE, RawClient, ServerHarness, sample_message

PASSWORD = "alice password"

pytestmark = pytest.mark.imap_server()


@pytest.fixture(scope="module")
def mailbox(harness: ServerHarness) -> str:
    """A folder of ten messages; 2, 3, 5 and 9 are flagged; sizes grow with the number."""
    conn = imaplib.IMAP4(harness.server.host, harness.server.port, timeout=15)
    conn.login(ALICE, PASSWORD)
    conn.create("Results")
    for number in range(1, 11):
        flags = "(\\Flagged)" if number in (2, 3, 5, 9) else None
        data = sample_message(f"message {11 - number:02d}", "x" * (number * 50))
        assert conn.append("Results", flags, None, data)[0] == "OK"
    conn.logout()
    return "Results"


def raw(harness: ServerHarness, mailbox: str) -> RawClient:
    """A raw client logged in as Alice with ``mailbox`` selected."""
    conn = RawClient(harness.server.host, harness.server.port)
    assert conn.command(b"L", f'LOGIN {ALICE} "{PASSWORD}"'.encode())[-1].startswith(b"L OK")
    assert conn.command(b"S", b"SELECT " + mailbox.encode())[-1].startswith(b"S OK")
    return conn


def test_capabilities(harness: ServerHarness, mailbox: str) -> None:
    conn = imaplib.IMAP4(harness.server.host, harness.server.port, timeout=15)
    conn.login(ALICE, PASSWORD)
    for name in ("ESEARCH", "SEARCHRES", "ESORT", "PARTIAL"):
        assert name in conn.capabilities
    conn.logout()


def test_esearch_return_options(harness: ServerHarness, mailbox: str) -> None:
    conn = raw(harness, mailbox)
    assert conn.command(b"A1", b"SEARCH RETURN (MIN MAX COUNT) FLAGGED") == [
        b'* ESEARCH (TAG "A1") MIN 2 MAX 9 COUNT 4',
        b"A1 OK SEARCH completed",
    ]
    all_line = conn.command(b"A2", b"SEARCH RETURN () FLAGGED")[0]
    assert all_line == b'* ESEARCH (TAG "A2") ALL 2:3,5,9'
    assert conn.command(b"A3", b"SEARCH RETURN (ALL COUNT) CHARSET UTF-8 DELETED")[0] == (
        b'* ESEARCH (TAG "A3") COUNT 0'
    )
    uid_line = conn.command(b"A4", b"UID SEARCH RETURN (COUNT ALL) 1:3")[0]
    assert uid_line.startswith(b'* ESEARCH (TAG "A4") UID ALL ') and uid_line.endswith(b"COUNT 3")
    # no RETURN: the RFC 3501 answer
    assert conn.command(b"A5", b"SEARCH FLAGGED")[0] == b"* SEARCH 2 3 5 9"
    for bad in (b"SEARCH RETURN (BIGGEST) ALL", b"SEARCH RETURN MIN ALL", b"SEARCH RETURN (MIN)"):
        assert conn.command(b"A6", bad)[-1].startswith(b"A6 BAD"), bad
    conn.close()


def test_partial(harness: ServerHarness, mailbox: str) -> None:
    conn = raw(harness, mailbox)
    assert conn.command(b"P1", b"SEARCH RETURN (PARTIAL 1:3 COUNT) ALL")[0] == (
        b'* ESEARCH (TAG "P1") COUNT 10 PARTIAL (1:3 1:3)'
    )
    assert conn.command(b"P2", b"SEARCH RETURN (PARTIAL -1:-2) FLAGGED")[0] == (
        b'* ESEARCH (TAG "P2") PARTIAL (-1:-2 5,9)'
    )
    assert conn.command(b"P3", b"SEARCH RETURN (PARTIAL 20:30) ALL")[0] == (
        b'* ESEARCH (TAG "P3") PARTIAL (20:30 NIL)'
    )
    assert conn.command(b"P4", b"SEARCH RETURN (PARTIAL 1:2 ALL) ALL")[-1].startswith(b"P4 BAD")
    assert conn.command(b"P5", b"SEARCH RETURN (PARTIAL 0:2) ALL")[-1].startswith(b"P5 BAD")
    conn.close()


def test_searchres_with_imaplib(harness: ServerHarness, mailbox: str) -> None:
    conn = imaplib.IMAP4(harness.server.host, harness.server.port, timeout=15)
    conn.login(ALICE, PASSWORD)
    conn.select(mailbox)
    typ, data = conn.search(None, "RETURN", "(SAVE)", "FLAGGED")
    assert typ == "OK" and "ESEARCH" not in conn.untagged_responses  # SAVE alone: no ESEARCH
    typ, data = conn.fetch("$", "(UID)")
    assert typ == "OK" and [d.split()[0] for d in data] == [b"2", b"3", b"5", b"9"]
    typ, data = conn.search(None, "$", "2:4")
    assert data == [b"2 3"]
    typ, data = conn.search(None, "UID", "$")
    assert data == [b"2 3 5 9"]
    typ, data = conn.search(None, "RETURN", "(SAVE MIN MAX)", "FLAGGED")
    assert conn.untagged_responses.pop("ESEARCH")[0].endswith(b"MIN 2 MAX 9")
    typ, data = conn.fetch("$", "(UID)")
    assert [d.split()[0] for d in data] == [b"2", b"9"]
    typ, data = conn.store("$", "+FLAGS", "(\\Seen)")
    assert typ == "OK" and len(data) == 2
    # a failed search that saves empties $
    typ, _ = conn.search(None, "RETURN", "(SAVE)", "CHARSET", "KOI8-R", "ALL")
    assert typ == "NO"
    typ, data = conn.search(None, "$")
    assert data == [b""]
    conn.logout()


def test_esort(harness: ServerHarness, mailbox: str) -> None:
    conn = raw(harness, mailbox)
    # subjects run "message 10" down to "message 01": subject order is the reverse
    assert conn.command(b"E1", b"SORT RETURN (ALL MIN MAX COUNT) (SUBJECT) UTF-8 ALL")[0] == (
        b'* ESEARCH (TAG "E1") MIN 10 MAX 1 ALL 10,9,8,7,6,5,4,3,2,1 COUNT 10'
    )
    assert conn.command(b"E2", b"SORT RETURN (ALL) (SIZE) UTF-8 FLAGGED")[0] == (
        b'* ESEARCH (TAG "E2") ALL 2:3,5,9'
    )
    assert conn.command(b"E3", b"SORT RETURN (PARTIAL 1:2) (SUBJECT) UTF-8 FLAGGED")[0] == (
        b'* ESEARCH (TAG "E3") PARTIAL (1:2 9,5)'
    )
    assert conn.command(b"E4", b"SORT RETURN (SAVE) (REVERSE SIZE) UTF-8 1:2")[0] == (
        b"E4 OK SORT completed"
    )
    assert conn.command(b"E5", b"SEARCH $")[0] == b"* SEARCH 1 2"
    conn.close()
