"""SORT and THREAD (RFC 5256) over real sockets: imaplib, IMAPClient and raw bytes."""

from __future__ import annotations

import imaplib

import pytest
from imapclient import IMAPClient
from support.imap import ALICE, RawClient, ServerHarness

PASSWORD = "alice password"

pytestmark = pytest.mark.imap_server()


def message(
    subject: str,
    date: str,
    sender: str,
    to: str,
    mid: str,
    refs: str = "",
    cc: str = "",
    body: str = "x",
) -> bytes:
    """A message with the headers SORT and THREAD look at."""
    lines = [
        f"From: {sender}",
        f"To: {to}",
        f"Subject: {subject}",
        f"Date: {date}",
        f"Message-ID: {mid}",
    ]
    if cc:
        lines.append(f"Cc: {cc}")
    if refs:
        lines.append(f"References: {refs}")
        lines.append(f"In-Reply-To: {refs.split()[-1]}")
    return ("\r\n".join(lines) + "\r\n\r\n" + body + "\r\n").encode()


MESSAGES = [
    # seq 1..6
    message("Project plan", "Mon, 4 Mar 2024 10:00:00 +0000", "Zed <zed@x.test>",
            "bob@x.test", "<plan@x>", body="a" * 300),
    message("Re: Project plan", "Mon, 4 Mar 2024 12:00:00 +0000", "amy@x.test",
            "zed@x.test", "<re1@x>", "<plan@x>", cc="carl@x.test"),
    message("=?utf-8?q?Caf=C3=A9?= news", "Sun, 3 Mar 2024 09:00:00 +0000", "Bob <bob@x.test>",
            "amy@x.test", "<cafe@x>", body="b" * 100),
    message("RE: [list] Project plan (fwd)", "Mon, 4 Mar 2024 11:00:00 +0100",
            "carl@x.test", "amy@x.test", "<re2@x>", "<plan@x> <re1@x>", cc="amy@x.test"),
    message("Lunch", "not a date", "dan@x.test", "zed@x.test", "<lunch@x>"),
    message("Fwd: lunch", "Tue, 5 Mar 2024 08:00:00 -0500", "eve@x.test", "dan@x.test",
            "<fwd@x>"),
]  # fmt: skip


@pytest.fixture(scope="module")
def mailbox(harness: ServerHarness) -> str:
    """A folder holding MESSAGES in order."""
    client = IMAPClient(harness.server.host, harness.server.port, ssl=False, timeout=15)
    client.login(ALICE, PASSWORD)
    client.create_folder("Sorting")
    for data in MESSAGES:
        client.append("Sorting", data)
    client.logout()
    return "Sorting"


def imaplib_client(harness: ServerHarness, mailbox: str) -> imaplib.IMAP4:
    """imaplib logged in as Alice with ``mailbox`` selected."""
    conn = imaplib.IMAP4(harness.server.host, harness.server.port, timeout=15)
    conn.login(ALICE, PASSWORD)
    conn.select(mailbox)
    return conn


def test_capabilities_announce_sort_and_thread(harness: ServerHarness, mailbox: str) -> None:
    conn = imaplib_client(harness, mailbox)
    for name in ("SORT", "THREAD=ORDEREDSUBJECT", "THREAD=REFERENCES"):
        assert name in conn.capabilities
    conn.logout()


def test_imaplib_sort_by_each_key(harness: ServerHarness, mailbox: str) -> None:
    conn = imaplib_client(harness, mailbox)

    def sort(criteria: str, *search: str) -> list[int]:
        typ, data = conn.sort(criteria, "UTF-8", *(search or ("ALL",)))
        assert typ == "OK"
        return [int(n) for n in data[0].split()]

    # Date: "not a date" falls back to the arrival time (the newest)
    assert sort("(DATE)") == [3, 1, 4, 2, 6, 5]
    # ties (1 and 4 are both 10:00 UTC) stay in sequence order, REVERSE or not
    assert sort("(REVERSE DATE)") == [5, 6, 2, 1, 4, 3]
    assert sort("(SUBJECT)") == [3, 5, 6, 1, 2, 4]
    assert sort("(SUBJECT REVERSE DATE)") == [3, 5, 6, 2, 1, 4]
    assert sort("(FROM)") == [2, 3, 4, 5, 6, 1]
    assert sort("(TO)") == [3, 4, 1, 6, 2, 5]
    assert sort("(CC)") == [1, 3, 5, 6, 4, 2]
    assert sort("(SIZE)")[-1] == 1
    assert sort("(ARRIVAL)") == [1, 2, 3, 4, 5, 6]
    assert sort("(REVERSE ARRIVAL)") == [6, 5, 4, 3, 2, 1]
    assert sort("(SUBJECT)", "FROM", "x.test", "NOT", "FROM", "zed") == [3, 5, 6, 2, 4]
    typ, data = conn.uid("SORT", "(ARRIVAL)", "US-ASCII", "ALL")
    uids = [int(n) for n in data[0].split()]
    assert typ == "OK" and uids == sorted(uids) and len(uids) == 6
    typ, data = conn.sort("(DATE)", "KOI8-R", "ALL")
    assert typ == "NO" and data[0].startswith(b"[BADCHARSET (US-ASCII UTF-8)]")
    with pytest.raises(imaplib.IMAP4.error, match="sort key"):
        conn.sort("(COLOUR)", "UTF-8", "ALL")
    conn.logout()


def test_imaplib_thread_references_and_orderedsubject(harness: ServerHarness, mailbox: str) -> None:
    conn = imaplib_client(harness, mailbox)
    typ, data = conn.thread("REFERENCES", "UTF-8", "ALL")
    assert typ == "OK"
    assert data[0] == b"(3)(1 2 4)(5 6)"
    typ, data = conn.thread("ORDEREDSUBJECT", "UTF-8", "ALL")
    assert data[0] == b"(3)(1 (4)(2))(6 5)"
    typ, data = conn.thread("REFERENCES", "UTF-8", "SUBJECT", "nothing-matches-this")
    assert typ == "OK" and data == [b""]
    typ, data = conn.uid("THREAD", "REFERENCES", "UTF-8", "ALL")
    assert typ == "OK" and data[0].count(b"(") == 3
    conn.logout()


def test_imapclient_sort_and_thread(harness: ServerHarness, mailbox: str) -> None:
    client = IMAPClient(harness.server.host, harness.server.port, ssl=False, timeout=15)
    client.login(ALICE, PASSWORD)
    client.select_folder(mailbox)
    uids = client.search("ALL")
    assert client.sort(["REVERSE", "ARRIVAL"]) == sorted(uids, reverse=True)
    threads = client.thread("REFERENCES")
    assert len(threads) == 3 and all(isinstance(t, tuple) for t in threads)
    assert sorted(u for t in threads for u in _flatten(t)) == sorted(uids)
    client.logout()


def _flatten(thread: object) -> list[int]:
    if isinstance(thread, int):
        return [thread]
    out: list[int] = []
    for item in thread:  # type: ignore[attr-defined]
        out.extend(_flatten(item))
    return out


def test_raw_grammar_errors_and_state(harness: ServerHarness, mailbox: str) -> None:
    conn = RawClient(harness.server.host, harness.server.port)
    assert conn.command(b"A", b"SORT (DATE) UTF-8 ALL")[-1].startswith(b"A BAD")
    assert conn.command(b"L", f'LOGIN {ALICE} "{PASSWORD}"'.encode())[-1].startswith(b"L OK")
    assert conn.command(b"B", b"THREAD REFERENCES UTF-8 ALL")[-1].startswith(b"B BAD")
    assert conn.command(b"C", b"SELECT " + mailbox.encode())[-1].startswith(b"C OK")
    for bad in (
        b"SORT DATE UTF-8 ALL", b"SORT () UTF-8 ALL", b"SORT (DATE) UTF-8",
        b"SORT (REVERSE) UTF-8 ALL", b"THREAD XYZ UTF-8 ALL", b"THREAD REFERENCES",
        b"SORT (DATE)  UTF-8 ALL",
    ):  # fmt: skip
        assert conn.command(b"D", bad)[-1].startswith(b"D BAD"), bad
    lines = conn.command(b"E", b"SORT (SIZE) utf-8 1:3")
    assert lines[-1].startswith(b"E OK") and lines[0].startswith(b"* SORT ")
    assert conn.command(b"F", b"UID SORT (SIZE) UTF-8 SUBJECT zzzz")[0] == b"* SORT"
    assert conn.command(b"G", b"THREAD REFERENCES UTF-8 SUBJECT zzzz")[0] == b"* THREAD"
    assert conn.command(b"H", b"THREAD REFERENCES UTF-8 2")[0] == b"* THREAD (2)"
    conn.close()


def test_sort_display_orders_by_display_name(harness: ServerHarness) -> None:
    """SORT=DISPLAY (RFC 5957): the display name (RFC 2047 decoded), else the addr-spec."""
    client = IMAPClient(harness.server.host, harness.server.port, ssl=False, timeout=15)
    client.login(ALICE, PASSWORD)
    assert b"SORT=DISPLAY" in client.capabilities()
    client.create_folder("Display")
    senders = ["Zoe <aaa@x.test>", "bob@x.test", "=?utf-8?q?=C3=81lvaro?= <zzz@x.test>"]
    for n, sender in enumerate(senders):
        date = f"Mon, 4 Mar 2024 1{n}:00:00 +0000"
        client.append("Display", message(f"m{n}", date, sender, sender, f"<d{n}@x>"))
    client.select_folder("Display")
    uids = client.search("ALL")
    by_display = client.sort(["DISPLAYFROM"])
    assert by_display == [uids[2], uids[1], uids[0]]  # Álvaro < bob@x.test < Zoe
    assert client.sort(["FROM"]) == uids  # the mailbox names: aaa < bob < zzz
    assert client.sort(["REVERSE", "DISPLAYTO"]) == uids
    client.logout()
    conn = RawClient(harness.server.host, harness.server.port)
    assert conn.command(b"L", f'LOGIN {ALICE} "{PASSWORD}"'.encode())[-1].startswith(b"L OK")
    assert conn.command(b"S", b"SELECT Display")[-1].startswith(b"S OK")
    assert conn.command(b"A", b"SORT (DISPLAYFROM) UTF-8 ALL")[0] == b"* SORT 3 2 1"
    assert conn.command(b"B", b"SORT (DISPLAYNAME) UTF-8 ALL")[-1].startswith(b"B BAD")
    conn.close()
