"""RFC 3501 commands over real sockets against one imapd process (imaplib and IMAPClient).

One server serves the whole module; each test works in mailboxes of its own so the
tests do not depend on each other's order.
"""

from __future__ import annotations

import datetime as dt
import imaplib
from pathlib import Path

import pytest
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError
from support.imap import ALICE, RawClient, ServerHarness, sample_message

PASSWORD = "alice password"

NESTED = (
    b"From: Carol <carol@example.test>\r\n"
    b"To: alice@example.test, Team: dan@example.test, erin@example.test;\r\n"
    b"Cc: =?utf-8?q?J=C3=BCrgen?= <jurgen@example.test>\r\n"
    b"Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?= nested\r\n"
    b"Date: Tue, 5 Mar 2024 12:00:00 +0000\r\n"
    b"Message-ID: <nested@example.test>\r\n"
    b"In-Reply-To: <parent@example.test>\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="outer"\r\n'
    b"\r\n"
    b"This is a MIME message.\r\n"
    b"--outer\r\n"
    b'Content-Type: multipart/alternative; boundary="inner"\r\n'
    b"\r\n"
    b"--inner\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n"
    b"\r\n"
    b"Caf=C3=A9 meeting about zeppelins\r\n"
    b"--inner\r\n"
    b"Content-Type: text/html; charset=utf-8\r\n"
    b"\r\n"
    b"<p>Caf\xc3\xa9 meeting</p>\r\n"
    b"--inner--\r\n"
    b"--outer\r\n"
    b"Content-Type: message/rfc822\r\n"
    b"\r\n"
    b"From: Frank <frank@example.test>\r\n"
    b"Subject: forwarded\r\n"
    b"\r\n"
    b"inner message text\r\n"
    b"--outer\r\n"
    b'Content-Type: application/pdf; name="report.pdf"\r\n'
    b'Content-Disposition: attachment; filename="report.pdf"\r\n'
    b"Content-Transfer-Encoding: base64\r\n"
    b"\r\n"
    b"JVBERi0xLjQK\r\n"
    b"--outer--\r\n"
)


pytestmark = pytest.mark.imap_server()


def connect(harness: ServerHarness) -> IMAPClient:
    """IMAPClient logged in as Alice."""
    client = IMAPClient(harness.server.host, harness.server.port, ssl=False, timeout=15)
    client.login(ALICE, PASSWORD)
    return client


def raw(harness: ServerHarness) -> RawClient:
    """A raw client logged in as Alice."""
    conn = RawClient(harness.server.host, harness.server.port)
    assert conn.command(b"L", f'LOGIN {ALICE} "{PASSWORD}"'.encode())[-1].startswith(b"L OK")
    return conn


def without_recent(flags: tuple[bytes, ...]) -> set[bytes]:
    """Flags other than \\Recent (appended messages are recent to the first SELECT)."""
    return set(flags) - {b"\\Recent"}


def folder(client: IMAPClient, name: str, *messages: bytes) -> list[int]:
    """Create a folder and APPEND messages to it; returns their UIDs."""
    client.create_folder(name)
    uids = []
    for message in messages:
        reply = client.append(name, message)
        uids.append(int(reply.split(b"]")[0].split()[-1]))
    return uids


# -- capabilities and the authenticated-state commands ----------------------------------------


def test_capabilities_and_small_commands(harness: ServerHarness) -> None:
    client = connect(harness)
    caps = set(client.capabilities())
    for name in (
        b"IMAP4REV1", b"IDLE", b"UIDPLUS", b"MOVE", b"NAMESPACE", b"ID", b"ENABLE",
        b"LITERAL+", b"SPECIAL-USE", b"CHILDREN", b"UNSELECT", b"CONDSTORE", b"QUOTA",
    ):  # fmt: skip
        assert name in caps
    assert client.namespace().personal == (("", "/"),)
    assert client.id_({"name": "pytest"})[0][:2] == (b"name", b"mailrs")
    assert client.enable("CONDSTORE") == [b"CONDSTORE"]
    assert client.noop()[0].startswith(b"NOOP")
    client.logout()


def test_list_special_use_children_and_subscriptions(harness: ServerHarness) -> None:
    client = connect(harness)
    client.create_folder("Projects/2024/Q1")
    listed = {name: flags for flags, _, name in client.list_folders()}
    assert b"\\Sent" in listed["Sent"] and b"\\Trash" in listed["Trash"]
    assert b"\\Junk" in listed["Junk"] and b"\\Drafts" in listed["Drafts"]
    assert b"\\Archive" in listed["Archive"]
    assert b"\\HasChildren" in listed["Projects"]
    assert b"\\HasNoChildren" in listed["Projects/2024/Q1"]
    top = [name for _, _, name in client.list_folders(pattern="%")]
    assert "Projects" in top and "Projects/2024" not in top
    assert [n for _, _, n in client.list_folders("Projects/", "%")] == ["Projects/2024"]
    client.subscribe_folder("Projects/2024")
    assert [n for _, _, n in client.list_sub_folders(pattern="Proj*")] == ["Projects/2024"]
    client.unsubscribe_folder("Projects/2024")
    assert client.list_sub_folders(pattern="Proj*") == []
    with pytest.raises(IMAPClientError, match="NONEXISTENT|No such"):
        client.subscribe_folder("Nope/Never")
    unicode_name = "Caf\u00e9 \u65e5\u672c"
    client.create_folder(unicode_name)
    assert unicode_name in [n for _, _, n in client.list_folders()]
    client.logout()


def test_create_delete_rename_and_errors(harness: ServerHarness) -> None:
    client = connect(harness)
    uids = folder(client, "Old", sample_message("renamed one"))
    client.create_folder("Old/Child")
    with pytest.raises(IMAPClientError, match="ALREADYEXISTS"):
        client.create_folder("Old")
    with pytest.raises(IMAPClientError, match="ALREADYEXISTS"):
        client.create_folder("INBOX")
    with pytest.raises(IMAPClientError):
        client.create_folder("../escape")
    client.rename_folder("Old", "New")
    names = {n for _, _, n in client.list_folders()}
    assert {"New", "New/Child"} <= names and "Old" not in names
    info = client.select_folder("New")
    assert info[b"EXISTS"] == 1
    assert client.search() == uids  # IMAPClient works in UIDs: the UID moved with the folder
    client.unselect_folder()
    with pytest.raises(IMAPClientError, match="NONEXISTENT|No such"):
        client.rename_folder("Missing", "Other")
    with pytest.raises(IMAPClientError, match="ALREADYEXISTS"):
        client.rename_folder("New", "Sent")
    client.delete_folder("New/Child")
    client.delete_folder("New")
    with pytest.raises(IMAPClientError, match="NONEXISTENT|No such"):
        client.delete_folder("New")
    with pytest.raises(IMAPClientError):
        client.delete_folder("INBOX")
    client.logout()


def test_rename_inbox_moves_its_messages(harness: ServerHarness) -> None:
    other = IMAPClient(harness.server.host, harness.server.port, ssl=False, timeout=15)
    other.login("bob@example.test", "bob password")
    other.append("INBOX", sample_message("bob one"))
    other.append("INBOX", sample_message("bob two"))
    before = other.folder_status("INBOX", ["UIDNEXT", "UIDVALIDITY"])
    other.rename_folder("INBOX", "Saved")
    assert other.folder_status("INBOX", ["MESSAGES"])[b"MESSAGES"] == 0
    saved = other.folder_status("Saved", ["MESSAGES", "UIDNEXT"])
    assert saved[b"MESSAGES"] == 2 and saved[b"UIDNEXT"] == before[b"UIDNEXT"]
    other.append("INBOX", sample_message("bob three"))
    after = other.folder_status("INBOX", ["MESSAGES", "UIDNEXT", "UIDVALIDITY"])
    assert after[b"MESSAGES"] == 1
    assert after[b"UIDVALIDITY"] == before[b"UIDVALIDITY"]
    assert after[b"UIDNEXT"] > before[b"UIDNEXT"]  # no UID is used twice in INBOX
    other.logout()


def test_status_append_flags_date_and_uidnext(harness: ServerHarness) -> None:
    client = connect(harness)
    client.create_folder("Appended")
    status = client.folder_status("Appended", ["MESSAGES", "UIDNEXT", "UIDVALIDITY", "UNSEEN"])
    assert status[b"MESSAGES"] == 0 and status[b"UIDNEXT"] == 1
    when = dt.datetime(2023, 7, 14, 9, 30, 0, tzinfo=dt.UTC)
    reply = client.append(
        "Appended", sample_message("dated"), flags=[b"\\Seen", b"$Work"], msg_time=when
    )
    assert reply.startswith(b"[APPENDUID %d 1]" % status[b"UIDVALIDITY"])
    client.append("Appended", sample_message("plain"))
    status = client.folder_status(
        "Appended", ["MESSAGES", "UIDNEXT", "UNSEEN", "RECENT", "HIGHESTMODSEQ"]
    )
    assert status[b"MESSAGES"] == 2 and status[b"UIDNEXT"] == 3 and status[b"UNSEEN"] == 1
    assert status[b"HIGHESTMODSEQ"] >= 2 and status[b"RECENT"] == 2
    client.select_folder("Appended")
    data = client.fetch("1", ["FLAGS", "INTERNALDATE", "RFC822.SIZE"])[1]
    assert set(data[b"FLAGS"]) == {b"\\Seen", b"$Work", b"\\Recent"}  # appended: recent
    assert data[b"INTERNALDATE"].replace(tzinfo=None) == dt.datetime(2023, 7, 14, 9, 30)
    assert data[b"RFC822.SIZE"] == len(sample_message("dated"))
    with pytest.raises(IMAPClientError, match="TRYCREATE"):
        client.append("Nowhere", sample_message("lost"))
    client.logout()


def test_append_with_synchronizing_and_non_synchronizing_literals(harness: ServerHarness) -> None:
    conn = raw(harness)
    conn.command(b"c", b"CREATE Literals")
    message = sample_message("sync literal")
    conn.send(
        b'a1 APPEND Literals (\\Flagged) " 1-Jan-2024 00:00:00 +0000" {%d}\r\n' % len(message)
    )
    assert conn.read_line().startswith(b"+ ")
    conn.send(message + b"\r\n")
    assert conn.until_tagged(b"a1")[-1].startswith(b"a1 OK [APPENDUID ")
    second = sample_message("non-sync literal")
    reply = conn.command(b"a2", b"APPEND Literals {%d+}\r\n" % len(second) + second)
    assert reply[-1].startswith(b"a2 OK [APPENDUID ") and not any(r.startswith(b"+") for r in reply)
    assert b"MESSAGES 2" in conn.command(b"s", b"STATUS Literals (MESSAGES)")[0]
    conn.close()


# -- FETCH --------------------------------------------------------------------------------------


def test_fetch_envelope_bodystructure_and_sections(harness: ServerHarness) -> None:
    client = connect(harness)
    folder(client, "Structured", NESTED)
    client.select_folder("Structured")
    data = client.fetch("1", ["ENVELOPE", "BODYSTRUCTURE", "BODY"])[1]
    envelope = data[b"ENVELOPE"]
    assert envelope.subject == b"=?utf-8?q?Gr=C3=BC=C3=9Fe?= nested"
    assert envelope.from_[0].mailbox == b"carol" and envelope.from_[0].host == b"example.test"
    assert envelope.sender == envelope.from_ and envelope.reply_to == envelope.from_
    to = envelope.to
    assert [a.mailbox for a in to] == [b"alice", b"Team", b"dan", b"erin", None]  # a group
    assert envelope.in_reply_to == b"<parent@example.test>"
    assert envelope.message_id == b"<nested@example.test>"
    structure = data[b"BODYSTRUCTURE"]
    assert structure.is_multipart
    parts, subtype = structure[0], structure[1]
    assert subtype == b"mixed" and len(parts) == 3
    alternative = parts[0]
    assert alternative[1] == b"alternative"
    assert (
        alternative[0][0][:2] == (b"text", b"plain") and alternative[0][0][5] == b"quoted-printable"
    )
    rfc822 = parts[1]
    assert rfc822[:2] == (b"message", b"rfc822")
    assert rfc822[7][1] == b"forwarded"  # the enclosed envelope
    assert rfc822[8][:2] == (b"text", b"plain")
    pdf = parts[2]
    assert pdf[:2] == (b"application", b"pdf") and pdf[8] == (
        b"attachment",
        (b"filename", b"report.pdf"),
    )
    sections = client.fetch(
        "1",
        [
            "BODY.PEEK[1.1]",
            "BODY.PEEK[1.2.MIME]",
            "BODY.PEEK[2]",
            "BODY.PEEK[2.HEADER]",
            "BODY.PEEK[2.TEXT]",
            "BODY.PEEK[2.1]",
            "BODY.PEEK[3]",
            "BODY.PEEK[HEADER.FIELDS (SUBJECT MESSAGE-ID)]",
            "BODY.PEEK[HEADER.FIELDS.NOT (TO CC FROM SUBJECT DATE MESSAGE-ID IN-REPLY-TO)]",
            "BODY.PEEK[TEXT]<0.25>",
            "BODY.PEEK[]<10000.5>",
            "BODY.PEEK[4]",
        ],
    )[1]
    assert sections[b"BODY[1.1]"] == b"Caf=C3=A9 meeting about zeppelins"
    assert sections[b"BODY[1.2.MIME]"] == b"Content-Type: text/html; charset=utf-8\r\n\r\n"
    assert sections[b"BODY[2]"].startswith(b"From: Frank") and sections[b"BODY[2]"].endswith(
        b"inner message text"
    )
    assert (
        sections[b"BODY[2.HEADER]"]
        == b"From: Frank <frank@example.test>\r\nSubject: forwarded\r\n\r\n"
    )
    assert sections[b"BODY[2.TEXT]"] == b"inner message text"
    assert sections[b"BODY[2.1]"] == b"inner message text"
    assert sections[b"BODY[3]"] == b"JVBERi0xLjQK"
    assert sections[b"BODY[HEADER.FIELDS (SUBJECT MESSAGE-ID)]"] == (
        b"Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?= nested\r\nMessage-ID: <nested@example.test>\r\n\r\n"
    )
    assert sections[
        b"BODY[HEADER.FIELDS.NOT (TO CC FROM SUBJECT DATE MESSAGE-ID IN-REPLY-TO)]"
    ] == (b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="outer"\r\n\r\n')
    assert sections[b"BODY[TEXT]<0>"] == b"This is a MIME message.\r\n"
    assert sections[b"BODY[]<10000>"] == b""
    assert sections[b"BODY[4]"] in (b"", None)
    assert without_recent(client.get_flags([1])[1]) == set()  # PEEK left \Seen alone
    full = client.fetch("1", ["RFC822.HEADER", "RFC822.SIZE"])[1]
    assert full[b"RFC822.HEADER"].endswith(b"\r\n\r\n") and full[b"RFC822.SIZE"] == len(NESTED)
    assert without_recent(client.get_flags([1])[1]) == set()
    assert without_recent(client.fetch("1", ["BODY[TEXT]"])[1][b"FLAGS"]) == {b"\\Seen"}
    client.logout()


def test_fetch_rfc822_sets_seen_and_examine_does_not(harness: ServerHarness) -> None:
    client = connect(harness)
    folder(client, "Reading", sample_message("r1"), sample_message("r2"))
    client.select_folder("Reading", readonly=True)
    assert client.fetch("1", ["RFC822"])[1][b"RFC822"] == sample_message("r1")
    assert without_recent(client.get_flags([1])[1]) == set()
    client.select_folder("Reading")
    fetched = client.fetch("2", ["RFC822", "FLAGS"])[2]
    assert fetched[b"FLAGS"] == (b"\\Seen", b"\\Recent")
    client.logout()


def test_fetch_macros_and_uid_fetch(harness: ServerHarness) -> None:
    conn = raw(harness)
    conn.command(b"c", b"CREATE Macros")
    message = sample_message("macro")
    conn.command(b"a", b"APPEND Macros {%d+}\r\n" % len(message) + message)
    conn.command(b"s", b"SELECT Macros")
    full = conn.command(b"f1", b"FETCH 1 FULL")
    assert b"ENVELOPE (" in full[0] and b"BODY (" in full[0] and b"RFC822.SIZE" in full[0]
    fast = conn.command(b"f2", b"FETCH 1 FAST")[0]
    assert b"INTERNALDATE" in fast and b"ENVELOPE" not in fast
    uid = conn.command(b"f3", b"UID FETCH 1:* (FLAGS)")[0]
    assert uid.startswith(b"* 1 FETCH (UID 1 FLAGS")
    assert conn.command(b"f4", b"UID FETCH 99 FLAGS") == [b"f4 OK UID FETCH completed"]
    assert conn.command(b"f5", b"FETCH 9 FLAGS")[0].startswith(b"f5 BAD")
    conn.close()


# -- STORE, COPY, MOVE, EXPUNGE -------------------------------------------------------------


def test_store_flags_keywords_and_silent(harness: ServerHarness) -> None:
    client = connect(harness)
    folder(client, "Flags", sample_message("f1"), sample_message("f2"), sample_message("f3"))
    client.select_folder("Flags")
    assert client.add_flags([1, 2], [b"\\Flagged", b"$Label1"]) == {
        1: (b"\\Flagged", b"$Label1", b"\\Recent"),
        2: (b"\\Flagged", b"$Label1", b"\\Recent"),
    }
    assert without_recent(client.remove_flags([1], [b"$Label1"])[1]) == {b"\\Flagged"}
    assert without_recent(client.set_flags([3], [b"\\Seen", b"\\Answered"])[3]) == {
        b"\\Seen",
        b"\\Answered",
    }
    conn = raw(harness)
    conn.command(b"s", b"SELECT Flags")
    assert conn.command(b"t", b"STORE 1 +FLAGS.SILENT (\\Deleted)") == [b"t OK STORE completed"]
    reply = conn.command(b"u", b"UID STORE 2 -FLAGS (\\Flagged)")
    assert reply[0] == b"* 2 FETCH (UID 2 FLAGS ($Label1))"
    conn.close()
    flags = client.get_flags([1, 2, 3])
    assert without_recent(flags[1]) == {b"\\Flagged", b"\\Deleted"}
    assert without_recent(flags[2]) == {b"$Label1"}
    on_disk = sorted(m.flags for m in harness.store.list_messages(ALICE, "Flags"))
    assert on_disk == ["FT", "RS", ""] or sorted(on_disk) == sorted(["FT", "RS", ""])
    client.logout()


def test_copy_move_with_copyuid_and_uidnext(harness: ServerHarness) -> None:
    client = connect(harness)
    folder(client, "Source", *(sample_message(f"m{n}") for n in range(4)))
    client.create_folder("Target")
    client.select_folder("Source")
    client.add_flags([1], [b"\\Flagged", b"$Keep"])
    raw_conn = raw(harness)
    raw_conn.command(b"s", b"SELECT Source")
    copy = raw_conn.command(b"c", b"COPY 1:2 Target")[-1]
    target_validity = client.folder_status("Target", ["UIDVALIDITY"])[b"UIDVALIDITY"]
    assert copy == b"c OK [COPYUID %d 1:2 1:2] COPY completed" % target_validity
    move = raw_conn.command(b"m", b"UID MOVE 3:4 Target")
    assert move[0] == b"* OK [COPYUID %d 3:4 3:4] Moved" % target_validity
    assert move[1:3] == [b"* 3 EXPUNGE", b"* 3 EXPUNGE"]
    assert raw_conn.command(b"x", b"COPY 1 Nowhere")[-1].startswith(b"x NO [TRYCREATE]")
    raw_conn.close()
    status = client.folder_status("Target", ["MESSAGES", "UIDNEXT", "RECENT"])
    assert status == {b"MESSAGES": 4, b"UIDNEXT": 5, b"RECENT": 4}  # copies are \\Recent
    client.select_folder("Target")
    assert without_recent(client.get_flags([1])[1]) == {b"\\Flagged", b"$Keep"}
    client.move([1], "Source")
    assert client.folder_status("Target", ["MESSAGES"])[b"MESSAGES"] == 3
    assert client.folder_status("Source", ["MESSAGES"])[b"MESSAGES"] == 3
    client.logout()


def test_expunge_uid_expunge_close_and_unselect(harness: ServerHarness) -> None:
    client = connect(harness)
    folder(client, "Trashy", *(sample_message(f"t{n}") for n in range(5)))
    conn = raw(harness)
    conn.command(b"s", b"SELECT Trashy")
    conn.command(b"d", b"STORE 1:4 +FLAGS.SILENT (\\Deleted)")
    assert conn.command(b"u", b"UID EXPUNGE 2:3") == [
        b"* 2 EXPUNGE",
        b"* 2 EXPUNGE",
        b"u OK UID EXPUNGE completed",
    ]
    assert conn.command(b"e", b"EXPUNGE") == [
        b"* 1 EXPUNGE",
        b"* 1 EXPUNGE",
        b"e OK EXPUNGE completed",
    ]
    conn.command(b"d2", b"STORE 1 +FLAGS.SILENT (\\Deleted)")
    assert conn.command(b"un", b"UNSELECT") == [b"un OK UNSELECT completed"]
    assert b"MESSAGES 1" in conn.command(b"st", b"STATUS Trashy (MESSAGES)")[0]
    conn.command(b"s2", b"SELECT Trashy")
    assert conn.command(b"cl", b"CLOSE") == [b"cl OK CLOSE completed"]
    assert b"MESSAGES 0" in conn.command(b"st2", b"STATUS Trashy (MESSAGES)")[0]
    assert conn.command(b"f", b"FETCH 1 FLAGS")[0].startswith(b"f BAD")  # not selected
    conn.command(b"ex", b"EXAMINE Trashy")
    assert conn.command(b"x", b"EXPUNGE")[0].startswith(b"x NO [READ-ONLY]")
    assert conn.command(b"ck", b"CHECK") == [b"ck OK CHECK completed"]
    conn.close()
    client.logout()


# -- SEARCH --------------------------------------------------------------------------------------


def test_search_every_kind_of_key(harness: ServerHarness) -> None:
    client = connect(harness)
    messages = [
        sample_message("Quarterly report", "numbers about zeppelins", "boss@example.test"),
        sample_message("Lunch", "sandwiches", "friend@example.test"),
        NESTED,
        sample_message("Gr\u00fc\u00dfe", "unicode body caf\u00e9"),
    ]
    folder(client, "Searchable", *messages)
    client.select_folder("Searchable")
    client.add_flags([2], [b"\\Flagged", b"$Todo"])
    client.add_flags([1], [b"\\Seen"])
    assert client.search(["ALL"]) == [1, 2, 3, 4]
    assert client.search(["FROM", "boss"]) == [1]
    assert client.search(["SUBJECT", "REPORT"]) == [1]
    assert client.search(["TO", "alice@example"]) == [1, 2, 3, 4]
    assert client.search(["CC", "jurgen"]) == [3]
    assert client.search(["HEADER", "In-Reply-To", "parent"]) == [3]
    assert client.search(["HEADER", "Message-ID", "nested@"]) == [3]
    assert client.search(["BODY", "zeppelin"]) == [1, 3]
    assert client.search(["TEXT", "sandwich"]) == [2]
    assert client.search(["TEXT", "Quarterly"]) == [1]
    assert client.search(["BODY", "caf\u00e9"], charset="UTF-8") == [3, 4]
    assert client.search(["SUBJECT", "gr\u00fc\u00dfe"], charset="UTF-8") == [3, 4]
    assert client.search(["FLAGGED"]) == [2] and client.search(["UNFLAGGED"]) == [1, 3, 4]
    assert client.search(["KEYWORD", "$Todo"]) == [2] and client.search(["UNKEYWORD", "$Todo"]) == [
        1,
        3,
        4,
    ]
    assert client.search(["SEEN"]) == [1] and client.search(["UNSEEN"]) == [2, 3, 4]
    assert client.search(["OR", "FLAGGED", "SEEN"]) == [1, 2]
    assert client.search(["NOT", "SEEN", "NOT", "FLAGGED"]) == [3, 4]
    assert client.search(["LARGER", "900"]) == [3]
    assert client.search(["SMALLER", "900"]) == [1, 2, 4]
    assert client.search(["2:3"]) == [2, 3]
    assert client.search(["UID", "3:*"]) == [3, 4]
    assert client.search(["SENTON", "4-Mar-2024"]) == [1, 2, 4]
    assert client.search(["SENTBEFORE", "5-Mar-2024"]) == [1, 2, 4]
    assert client.search(["SENTSINCE", "5-Mar-2024"]) == [3]
    today = dt.date.today()
    assert client.search(["SINCE", today - dt.timedelta(days=1)]) == [1, 2, 3, 4]
    assert client.search(["BEFORE", dt.date(2000, 1, 1)]) == []
    assert client.search(["RECENT"]) == [1, 2, 3, 4]  # appended, then first selected here
    assert client.search(["NEW"]) == [2, 3, 4] and client.search(["OLD"]) == []
    assert client.search(["DELETED"]) == [] and client.search(["UNDELETED"]) == [1, 2, 3, 4]
    assert client.search(["ANSWERED"]) == [] and client.search(["DRAFT"]) == []
    uid_hits = client._imap.uid("SEARCH", "FROM", "friend")
    assert uid_hits[1] == [b"2"]
    with pytest.raises(IMAPClientError, match="BADCHARSET"):
        client.search(["TEXT", "x"], charset="KOI8-R")
    client.logout()


# -- bad input while logged in -------------------------------------------------------------------


def test_bad_commands_keep_the_session(harness: ServerHarness) -> None:
    conn = raw(harness)
    conn.command(b"s", b"SELECT INBOX")
    for tag, line in [
        (b"b1", b"FETCH 1:* (BODY[0])"),
        (b"b2", b"SEARCH NOTAKEY"),
        (b"b3", b"STORE 1 +FLAGS (\\Bogus)"),
        (b"b4", b"APPEND"),
        (b"b5", b"STATUS INBOX (FOO)"),
        (b"b6", b"UID"),
        (b"b7", b"SELECT"),
    ]:
        reply = conn.command(tag, line)
        assert reply[-1].startswith(tag + b" BAD "), reply
        assert len(reply[-1]) > len(tag) + 5  # a reason is given
    assert conn.command(b"n", b"NOOP")[-1] == b"n OK NOOP completed"
    assert conn.command(b"sel", b'SELECT "no/such"')[-1].startswith(b"sel NO [NONEXISTENT]")
    conn.close()


def test_imaplib_round_trip(harness: ServerHarness) -> None:
    imap = imaplib.IMAP4(harness.server.host, harness.server.port, timeout=15)
    imap.login(ALICE, PASSWORD)
    imap.create("Imaplib")
    assert imap.append("Imaplib", "(\\Seen)", None, sample_message("via imaplib"))[0] == "OK"
    assert imap.select("Imaplib")[1] == [b"1"]
    typ, data = imap.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert typ == "OK" and data[0][1] == b"Subject: via imaplib\r\n\r\n"
    typ, data = imap.uid("SEARCH", None, "SUBJECT", "imaplib")
    assert data == [b"1"]
    assert imap.store("1", "+FLAGS", "\\Deleted")[0] == "OK"
    assert imap.expunge()[1] == [b"1"]
    assert imap.close()[0] == "OK"
    imap.logout()


def test_uids_survive_restart(harness: ServerHarness, tmp_path: Path) -> None:
    client = connect(harness)
    folder(client, "Persist", sample_message("p1"), sample_message("p2"))
    before = client.folder_status("Persist", ["UIDVALIDITY", "UIDNEXT"])
    client.logout()
    harness.server.restart()
    client = connect(harness)
    assert client.folder_status("Persist", ["UIDVALIDITY", "UIDNEXT"]) == before
    client.select_folder("Persist")
    assert client.search() == [1, 2]
    client.logout()


def test_quota_reporting_and_enforcement(harness: ServerHarness) -> None:
    from mailrs.db.engine import Database
    from mailrs.db.models import User

    conn = raw(harness)
    assert conn.command(b"q0", b"GETQUOTAROOT INBOX") == [
        b"* QUOTAROOT INBOX",
        b"q0 OK GETQUOTAROOT completed",
    ]  # no quota set: no root
    assert conn.command(b"q1", b'GETQUOTA ""')[-1].startswith(b"q1 NO")
    database = Database.from_settings(harness.settings)
    with database.session() as session:
        session.query(User).filter_by(address=ALICE).one().quota_bytes = 10 * 1024 * 1024
        session.commit()
    reply = conn.command(b"q2", b"GETQUOTAROOT INBOX")
    assert reply[0] == b'* QUOTAROOT INBOX ""'
    assert reply[1].startswith(b'* QUOTA "" (STORAGE ') and reply[1].endswith(b" 10240)")
    assert conn.command(b"q3", b'GETQUOTA ""')[0] == reply[1]
    with database.session() as session:
        session.query(User).filter_by(address=ALICE).one().quota_bytes = 10
        session.commit()
    message = sample_message("over quota")
    over = conn.command(b"a", b"APPEND INBOX {%d+}\r\n" % len(message) + message)
    assert over[-1].startswith(b"a NO [OVERQUOTA]")
    with database.session() as session:
        session.query(User).filter_by(address=ALICE).one().quota_bytes = None
        session.commit()
    database.dispose()
    conn.close()


def test_lsub_shows_unsubscribed_parents_as_noselect(harness: ServerHarness) -> None:
    conn = raw(harness)
    conn.command(b"c", b"CREATE Club/Members")
    conn.command(b"s", b"SUBSCRIBE Club/Members")
    assert conn.command(b"l1", b'LSUB "" Cl%')[0] == b'* LSUB (\\Noselect) "/" Club'
    assert conn.command(b"l0", b'LSUB "" Club') == [b"l0 OK LSUB completed"]
    assert conn.command(b"l2", b'LSUB "" Club/%')[0] == b'* LSUB () "/" Club/Members'
    assert conn.command(b"l3", b'LSUB "" Club*') == [
        b'* LSUB () "/" Club/Members',
        b"l3 OK LSUB completed",
    ]
    conn.close()
