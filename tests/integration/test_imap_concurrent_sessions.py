"""Concurrent sessions, IDLE, deliveries from outside and CONDSTORE, over real sockets."""

from __future__ import annotations

import threading
import time

import pytest
from imapclient import IMAPClient
from support.imap import ALICE, RawClient, ServerHarness, sample_message

from mailrs.store.events import publish_event, subscribe

PASSWORD = "alice password"


pytestmark = pytest.mark.imap_server()


def raw(harness: ServerHarness) -> RawClient:
    """A raw client logged in as Alice."""
    conn = RawClient(harness.server.host, harness.server.port)
    assert conn.command(b"L", f'LOGIN {ALICE} "{PASSWORD}"'.encode())[-1].startswith(b"L OK")
    return conn


def connect(harness: ServerHarness) -> IMAPClient:
    """IMAPClient logged in as Alice."""
    client = IMAPClient(harness.server.host, harness.server.port, ssl=False, timeout=15)
    client.login(ALICE, PASSWORD)
    return client


def deliver(harness: ServerHarness, subject: str, mailbox: str = "INBOX") -> None:
    """What the pipeline's deliver stage does: write into the Maildir, publish new_mail."""
    harness.store.deliver(ALICE, sample_message(subject), mailbox)
    publish_event(harness.settings, ALICE, {"kind": "new_mail", "folder": mailbox})


def test_two_sessions_see_each_others_changes(harness: ServerHarness) -> None:
    setup = connect(harness)
    setup.create_folder("Shared")
    for n in range(3):
        setup.append("Shared", sample_message(f"s{n}"))
    setup.logout()
    first, second = raw(harness), raw(harness)
    first.command(b"s", b"SELECT Shared")
    second.command(b"s", b"SELECT Shared")
    second.command(b"f", b"STORE 2 +FLAGS (\\Flagged)")
    updates = first.command(b"n1", b"NOOP")
    assert updates[0].startswith(b"* 2 FETCH (UID 2 FLAGS (\\Flagged")
    message = sample_message("from the other session")
    second.command(b"a", b"APPEND Shared {%d+}\r\n" % len(message) + message)
    assert b"* 4 EXISTS" in first.command(b"n2", b"NOOP")
    second.command(b"d", b"STORE 1 +FLAGS.SILENT (\\Deleted)")
    second.command(b"x", b"EXPUNGE")
    # No EXPUNGE while a FETCH runs: the numbers stay as the client knows them.
    during_fetch = first.command(b"f1", b"FETCH 1:4 (UID ENVELOPE)")
    assert not any(line.endswith(b"EXPUNGE") for line in during_fetch)
    assert during_fetch[-1].startswith(b"f1 NO [EXPUNGEISSUED]")
    assert any(line.startswith(b"* 2 FETCH (UID 2 ENVELOPE") for line in during_fetch)
    during_search = first.command(b"s1", b"SEARCH ALL")
    assert not any(line.endswith(b"EXPUNGE") for line in during_search)
    assert first.command(b"n3", b"NOOP")[:1] == [b"* 1 EXPUNGE"]
    assert first.command(b"f2", b"FETCH 1:* (UID)")[:3] == [
        b"* 1 FETCH (UID 2)",
        b"* 2 FETCH (UID 3)",
        b"* 3 FETCH (UID 4)",
    ]
    first.close()
    second.close()


def test_recent_belongs_to_one_session(harness: ServerHarness) -> None:
    setup = connect(harness)
    setup.create_folder("Recent")
    setup.logout()
    harness.store.deliver(ALICE, sample_message("fresh"), "Recent")
    first, second = raw(harness), raw(harness)
    assert b"* 1 RECENT" in first.command(b"s", b"SELECT Recent")
    assert b"* 0 RECENT" in second.command(b"s", b"SELECT Recent")
    assert first.command(b"r", b"SEARCH RECENT")[0] == b"* SEARCH 1"
    assert second.command(b"r", b"SEARCH RECENT")[0] == b"* SEARCH"
    first.close()
    second.close()


def test_idle_announces_a_delivery_and_flag_changes(harness: ServerHarness) -> None:
    conn = raw(harness)
    conn.command(b"s", b"SELECT INBOX")
    conn.send(b"i IDLE\r\n")
    assert conn.read_line().startswith(b"+ ")
    deliver(harness, "during idle")
    line = conn.read_line()
    assert line.endswith(b" EXISTS")
    other = connect(harness)
    other.select_folder("INBOX")
    other.add_flags(other.search(), [b"\\Flagged"])
    while not (line := conn.read_line()).startswith(b"* ") or b"FETCH" not in line:
        pass
    assert b"\\Flagged" in line
    conn.send(b"DONE\r\n")
    assert conn.until_tagged(b"i")[-1] == b"i OK IDLE terminated"
    other.logout()
    conn.close()


def test_idle_with_imapclient_and_bad_continuation(harness: ServerHarness) -> None:
    client = connect(harness)
    client.select_folder("INBOX")
    client.idle()
    deliver(harness, "imapclient idle")
    responses = client.idle_check(timeout=10)
    client.idle_done()
    assert any(r[1] == b"EXISTS" for r in responses)
    client.logout()
    conn = raw(harness)
    conn.send(b"i IDLE\r\n")
    conn.read_line()
    conn.send(b"NOT-DONE\r\n")
    assert conn.until_tagged(b"i")[-1].startswith(b"i BAD")
    assert conn.command(b"n", b"NOOP")[-1] == b"n OK NOOP completed"
    conn.close()


def test_sessions_publish_events(harness: ServerHarness) -> None:
    client = connect(harness)
    client.create_folder("Events")
    client.append("Events", sample_message("e1"))
    client.select_folder("Events")
    kinds: list[str] = []
    ready = threading.Event()

    def listen() -> None:
        with subscribe(harness.settings, ALICE) as subscription:
            ready.set()
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and len(kinds) < 3:
                event = subscription.get(0.2)
                if event is not None and event.get("folder") == "Events":
                    kinds.append(event["kind"])

    listener = threading.Thread(target=listen)
    listener.start()
    ready.wait(5)
    time.sleep(0.2)
    client.add_flags(client.search(), [b"\\Deleted"])
    client.expunge()
    client.append("Events", sample_message("e2"))
    listener.join(15)
    assert kinds == ["flags", "expunge", "new_mail"]
    client.logout()


def test_condstore_modseq_changedsince_unchangedsince(harness: ServerHarness) -> None:
    client = connect(harness)
    client.create_folder("Modseq")
    for n in range(3):
        client.append("Modseq", sample_message(f"c{n}"))
    conn = raw(harness)
    selected = conn.command(b"s", b"SELECT Modseq (CONDSTORE)")
    highest = next(line for line in selected if b"HIGHESTMODSEQ" in line)
    start = int(highest.split(b"HIGHESTMODSEQ ")[1].split(b"]")[0])
    other = raw(harness)
    other.command(b"s", b"SELECT Modseq")
    other.command(b"f", b"STORE 2 +FLAGS (\\Answered)")
    changed = conn.command(b"f", b"FETCH 1:* (FLAGS) (CHANGEDSINCE %d)" % start)
    answered = [line for line in changed if line.startswith(b"* 2 FETCH (FLAGS (\\Answered")]
    assert len(answered) == 1 and not any(line.startswith(b"* 1 ") for line in changed)
    modseq = int(answered[0].split(b"MODSEQ (")[1].split(b")")[0])
    assert modseq > start
    stale = conn.command(b"u", b"STORE 1:2 (UNCHANGEDSINCE %d) +FLAGS (\\Seen)" % start)
    assert stale[-1] == b"u OK [MODIFIED 2] Some messages were modified"
    assert stale[0].startswith(b"* 1 FETCH (FLAGS (\\Seen")
    found = conn.command(b"q", b"SEARCH MODSEQ %d" % (modseq))
    assert found[0].startswith(b"* SEARCH 1 2 (MODSEQ ")
    status = client.folder_status("Modseq", ["HIGHESTMODSEQ"])
    assert status[b"HIGHESTMODSEQ"] > modseq
    conn.close()
    other.close()
    client.logout()


def test_mailbox_deleted_under_a_session(harness: ServerHarness) -> None:
    setup = connect(harness)
    setup.create_folder("Doomed")
    setup.append("Doomed", sample_message("d1"))
    watcher = raw(harness)
    watcher.command(b"s", b"SELECT Doomed")
    setup.delete_folder("Doomed")
    reply = watcher.command(b"n", b"NOOP")
    assert reply[0] == b"* BYE The selected mailbox was removed"
    assert watcher.is_closed()
    watcher.close()
    setup.logout()


def test_concurrent_flag_changes_are_merged(harness: ServerHarness) -> None:
    setup = connect(harness)
    setup.create_folder("Merged")
    setup.append("Merged", sample_message("both"))
    setup.logout()
    first, second = raw(harness), raw(harness)
    first.command(b"s", b"SELECT Merged")
    second.command(b"s", b"SELECT Merged")
    # Neither session has seen the other's change when it sends its own.
    first.command(b"a", b"STORE 1 +FLAGS.SILENT (\\Seen $One)")
    second.command(b"b", b"UID STORE 1 +FLAGS.SILENT (\\Flagged $Two)")
    reply = first.command(b"f", b"FETCH 1 (FLAGS)")
    flags = next(line for line in reply if line.startswith(b"* 1 FETCH (FLAGS"))
    for flag in (b"\\Seen", b"\\Flagged", b"$One", b"$Two"):
        assert flag in flags
    first.command(b"r", b"STORE 1 -FLAGS.SILENT ($One \\Seen)")
    final = second.command(b"g", b"FETCH 1 (FLAGS)")
    flags = next(line for line in final if line.startswith(b"* 1 FETCH (FLAGS"))
    assert b"$One" not in flags and b"\\Seen" not in flags
    assert b"$Two" in flags and b"\\Flagged" in flags
    first.close()
    second.close()


def test_idle_notices_a_delivery_that_published_no_event(harness: ServerHarness) -> None:
    conn = raw(harness)
    conn.command(b"s", b"SELECT INBOX")
    conn.send(b"i IDLE\r\n")
    assert conn.read_line().startswith(b"+ ")
    harness.store.deliver(ALICE, sample_message("silent delivery"))  # no event at all
    assert conn.read_line().endswith(b" EXISTS")  # found by the look at the folder
    conn.send(b"DONE\r\n")
    assert conn.until_tagged(b"i")[-1] == b"i OK IDLE terminated"
    conn.close()
