"""QRESYNC (RFC 7162) over real sockets: imaplib for the client's view, raw bytes for
the exact responses (VANISHED, VANISHED (EARLIER), [CLOSED], [HIGHESTMODSEQ])."""

from __future__ import annotations

import imaplib
import re
import sqlite3

import pytest
from support.imap import ALICE, RawClient, ServerHarness, sample_message

PASSWORD = "alice password"
FOLDER = "Resync"

pytestmark = pytest.mark.imap_server()


def client(harness: ServerHarness) -> imaplib.IMAP4:
    """imaplib logged in as Alice."""
    conn = imaplib.IMAP4(harness.server.host, harness.server.port, timeout=15)
    conn.login(ALICE, PASSWORD)
    return conn


def raw(harness: ServerHarness) -> RawClient:
    """A raw client logged in as Alice, QRESYNC enabled."""
    conn = RawClient(harness.server.host, harness.server.port)
    assert conn.command(b"L", f'LOGIN {ALICE} "{PASSWORD}"'.encode())[-1].startswith(b"L OK")
    assert conn.command(b"E", b"ENABLE QRESYNC")[0] == b"* ENABLED QRESYNC"
    return conn


def code_value(lines: list[bytes], code: bytes) -> int:
    """The number in ``[CODE n]`` among the lines."""
    for line in lines:
        found = re.search(rb"\[" + code + rb" (\d+)\]", line)
        if found:
            return int(found.group(1))
    raise AssertionError(f"no {code!r} in {lines!r}")


@pytest.fixture(scope="module")
def known(harness: ServerHarness) -> dict[str, object]:
    """A folder of six messages as a client last saw it, then changed by another session:
    message 2 flagged \\Seen, message 4 expunged."""
    conn = client(harness)
    conn.create(FOLDER)
    for n in range(6):
        conn.append(FOLDER, None, None, sample_message(f"resync {n}"))
    conn.select(FOLDER)
    uids = [int(u) for u in conn.uid("SEARCH", "ALL")[1][0].split()]
    status = conn.status(FOLDER, "(UIDVALIDITY HIGHESTMODSEQ)")[1][0]
    uidvalidity = int(re.search(rb"UIDVALIDITY (\d+)", status).group(1))  # type: ignore[union-attr]
    modseq = int(re.search(rb"HIGHESTMODSEQ (\d+)", status).group(1))  # type: ignore[union-attr]
    conn.uid("STORE", str(uids[1]), "+FLAGS", "(\\Seen)")
    conn.uid("STORE", str(uids[3]), "+FLAGS", "(\\Deleted)")
    conn.expunge()
    conn.logout()
    return {"uids": uids, "uidvalidity": uidvalidity, "modseq": modseq}


def test_capability_and_enable(harness: ServerHarness) -> None:
    conn = client(harness)
    assert "QRESYNC" in conn.capabilities and "CONDSTORE" in conn.capabilities
    assert conn.enable("QRESYNC")[0] == "OK"
    assert conn.response("ENABLED")[1] == [b"QRESYNC"]
    assert conn.enable("QRESYNC")[0] == "OK"  # already enabled: not listed again
    assert conn.response("ENABLED")[1] in ([b""], [None])
    conn.logout()


def test_select_qresync_reports_what_was_missed(
    harness: ServerHarness, known: dict[str, object]
) -> None:
    uids: list[int] = known["uids"]  # type: ignore[assignment]
    conn = client(harness)
    conn.enable("QRESYNC")
    typ, _ = conn.select(f"{FOLDER} (QRESYNC ({known['uidvalidity']} {known['modseq']}))")
    assert typ == "OK"
    assert conn.response("VANISHED")[1] == [b"(EARLIER) %d" % uids[3]]
    fetched = conn.response("FETCH")[1]
    assert len(fetched) == 1
    assert fetched[0].startswith(b"2 (UID %d FLAGS (\\Seen) MODSEQ (" % uids[1])
    # UID FETCH ... (CHANGEDSINCE n VANISHED): the same answer, restricted to the UID set
    typ, data = conn.uid("FETCH", "1:*", "(FLAGS)", f"(CHANGEDSINCE {known['modseq']} VANISHED)")
    assert typ == "OK"
    assert conn.response("VANISHED")[1] == [b"(EARLIER) %d" % uids[3]]
    assert [d for d in data if d] and all(b"UID %d " % uids[1] in d for d in data if d)
    typ, data = conn.uid(
        "FETCH", f"{uids[4]}:*", "(FLAGS)", f"(CHANGEDSINCE {known['modseq']} VANISHED)"
    )
    assert typ == "OK" and conn.response("VANISHED")[1] == [None] and data == [None]
    conn.logout()


def test_known_uids_and_a_stale_uidvalidity(
    harness: ServerHarness, known: dict[str, object]
) -> None:
    uids: list[int] = known["uids"]  # type: ignore[assignment]
    conn = raw(harness)
    uv, ms = known["uidvalidity"], known["modseq"]
    lines = conn.command(
        b"A", f"SELECT {FOLDER} (QRESYNC ({uv} {ms} {uids[0]}:{uids[2]}))".encode()
    )
    assert lines[-1].startswith(b"A OK [READ-WRITE]")
    assert not [line for line in lines if b"VANISHED" in line]  # uid 4 is not in the known set
    fetched = [line for line in lines if b"FETCH" in line]
    assert len(fetched) == 1
    assert fetched[0].startswith(b"* 2 FETCH (UID %d FLAGS (\\Seen) MODSEQ (" % uids[1])
    # known UIDs with sequence match data: accepted (the server keeps every expunge)
    text = f"EXAMINE {FOLDER} (QRESYNC ({uv} {ms} 1:* (1:3 {uids[0]}:{uids[2]})))"
    lines = conn.command(b"B", text.encode())
    assert lines[0] == b"* OK [CLOSED] Previous mailbox closed"
    assert b"* VANISHED (EARLIER) %d" % uids[3] in lines
    assert lines[-1].startswith(b"B OK [READ-ONLY]")
    # another UIDVALIDITY: a plain SELECT, nothing about the past
    lines = conn.command(b"C", f"SELECT {FOLDER} (QRESYNC (1 {ms}))".encode())
    assert lines[-1].startswith(b"C OK")
    assert not [line for line in lines if b"VANISHED" in line or b"FETCH" in line]
    conn.close()


def test_live_expunges_are_vanished(harness: ServerHarness, known: dict[str, object]) -> None:
    watcher = raw(harness)
    assert watcher.command(b"S", f"SELECT {FOLDER}".encode())[-1].startswith(b"S OK")
    other = client(harness)
    other.select(FOLDER)
    other.append(FOLDER, None, None, sample_message("resync extra"))
    uid = int(other.uid("SEARCH", "ALL")[1][0].split()[-1])
    assert [line for line in watcher.command(b"M", b"NOOP") if line.endswith(b" EXISTS")]
    other.uid("STORE", str(uid), "+FLAGS", "(\\Deleted)")
    other.expunge()
    lines = watcher.command(b"N", b"NOOP")
    assert b"* VANISHED %d" % uid in lines  # never "* n EXPUNGE" once QRESYNC is on
    assert not [line for line in lines if line.endswith(b" EXPUNGE")]
    # its own EXPUNGE: VANISHED too, and the tagged OK carries HIGHESTMODSEQ
    assert watcher.command(b"A", b"APPEND " + FOLDER.encode() + b" {5+}\r\nx: y")[-1].startswith(
        b"A OK"
    )
    watcher.command(b"T", b"STORE * +FLAGS.SILENT (\\Deleted)")
    lines = watcher.command(b"X", b"EXPUNGE")
    assert lines[0].startswith(b"* VANISHED ")
    assert re.match(rb"X OK \[HIGHESTMODSEQ \d+\]", lines[-1])
    highest = code_value(lines, b"HIGHESTMODSEQ")
    status = watcher.command(b"Y", f"STATUS {FOLDER} (HIGHESTMODSEQ)".encode())[0]
    assert status.endswith(b"(HIGHESTMODSEQ %d)" % highest)
    other.logout()
    watcher.close()


def test_grammar_and_state_errors(harness: ServerHarness, known: dict[str, object]) -> None:
    conn = RawClient(harness.server.host, harness.server.port)
    conn.command(b"L", f'LOGIN {ALICE} "{PASSWORD}"'.encode())
    uv, ms = known["uidvalidity"], known["modseq"]
    lines = conn.command(b"A", f"SELECT {FOLDER} (QRESYNC ({uv} {ms}))".encode())
    assert lines[-1].startswith(b"A BAD")  # not enabled
    conn.command(b"E", b"ENABLE QRESYNC")
    for bad in (
        f"SELECT {FOLDER} (QRESYNC (0 {ms}))",
        f"SELECT {FOLDER} (QRESYNC ({uv}))",
        f"SELECT {FOLDER} (QRESYNC ({uv} {ms} (1:2)))",
        f"SELECT {FOLDER} (QRESYNC {uv} {ms})",
    ):
        assert conn.command(b"B", bad.encode())[-1].startswith(b"B BAD"), bad
    assert conn.command(b"S", f"SELECT {FOLDER}".encode())[-1].startswith(b"S OK")
    for bad in (
        "FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)",  # not a UID FETCH
        "UID FETCH 1:* (FLAGS) (VANISHED)",  # no CHANGEDSINCE
        "UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED VANISHED)",
    ):
        assert conn.command(b"C", bad.encode())[-1].startswith(b"C BAD"), bad
    conn.close()


def test_an_index_older_than_the_expunge_record(
    harness: ServerHarness, known: dict[str, object]
) -> None:
    """Expunges from before the record began: every UID not in the mailbox is vanished."""
    conn = client(harness)
    conn.create("Older")
    for n in range(4):
        conn.append("Older", None, None, sample_message(f"older {n}"))
    conn.select("Older")
    uids = [int(u) for u in conn.uid("SEARCH", "ALL")[1][0].split()]
    conn.uid("STORE", str(uids[1]), "+FLAGS", "(\\Deleted)")
    conn.expunge()
    status = conn.status("Older", "(UIDVALIDITY HIGHESTMODSEQ)")[1][0]
    conn.logout()
    uidvalidity = int(re.search(rb"UIDVALIDITY (\d+)", status).group(1))  # type: ignore[union-attr]
    modseq = int(re.search(rb"HIGHESTMODSEQ (\d+)", status).group(1))  # type: ignore[union-attr]
    index = harness.store.user_dir(ALICE) / "mailrs-index.sqlite"
    with sqlite3.connect(index) as db:  # as an index upgraded just now would be
        db.execute("DELETE FROM vanished WHERE mailbox = 'Older'")
        db.execute("UPDATE mailboxes SET vanished_from = ? WHERE name = 'Older'", (modseq,))
    conn = raw(harness)
    lines = conn.command(b"A", f"SELECT Older (QRESYNC ({uidvalidity} 1))".encode())
    assert b"* VANISHED (EARLIER) %d" % uids[1] in lines
    lines = conn.command(b"B", f"UID FETCH 1:* (FLAGS) (CHANGEDSINCE {modseq} VANISHED)".encode())
    assert lines == [b"B OK UID FETCH completed"]
    conn.close()
