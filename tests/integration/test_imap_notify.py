"""NOTIFY (RFC 5465) over real sockets: events reach a session between commands and in IDLE.

The session under test is a raw client (no Python IMAP library speaks NOTIFY); the
changes are made by another session through imaplib. Lines arrive without any command
from the watching client, which is the point of NOTIFY.
"""

from __future__ import annotations

import imaplib
import re

import pytest
from support.imap import ALICE, RawClient, ServerHarness, sample_message

PASSWORD = "alice password"

pytestmark = pytest.mark.imap_server()


def raw(harness: ServerHarness) -> RawClient:
    """A raw client logged in as Alice."""
    conn = RawClient(harness.server.host, harness.server.port, timeout=20)
    assert conn.command(b"L", f'LOGIN {ALICE} "{PASSWORD}"'.encode())[-1].startswith(b"L OK")
    return conn


def other(harness: ServerHarness) -> imaplib.IMAP4:
    """Another session (imaplib) that makes the changes."""
    conn = imaplib.IMAP4(harness.server.host, harness.server.port, timeout=15)
    conn.login(ALICE, PASSWORD)
    return conn


def unsolicited(conn: RawClient, pattern: bytes) -> list[bytes]:
    """Lines the server sends on its own, up to one matching ``pattern`` (no command sent)."""
    lines = []
    while True:
        line = conn.read_line()
        assert line, f"connection closed; got {lines!r}"
        lines.append(line)
        if re.search(pattern, line):
            return lines


def test_capability_and_initial_status(harness: ServerHarness) -> None:
    """imaptest's notify script: SET STATUS reports the watched mailboxes at once."""
    changer = other(harness)
    assert "NOTIFY" in changer.capabilities
    changer.create("Box2")
    changer.append("Box2", None, None, sample_message("one"))
    changer.logout()
    conn = raw(harness)
    lines = conn.command(b"A", b"NOTIFY SET STATUS (mailboxes Box2 (MessageNew MessageExpunge))")
    assert re.fullmatch(rb"\* STATUS Box2 \(MESSAGES 1 UIDNEXT 2 UIDVALIDITY \d+\)", lines[0])
    assert lines[-1] == b"A OK NOTIFY completed"
    text = b"NOTIFY SET STATUS (mailboxes Box2 (MessageNew MessageExpunge FlagChange))"
    lines = conn.command(b"B", text)
    assert re.fullmatch(
        rb"\* STATUS Box2 \(MESSAGES 1 UIDNEXT 2 UIDVALIDITY \d+ HIGHESTMODSEQ \d+\)", lines[0]
    )
    text = b"NOTIFY SET (mailboxes Box2 (MessageNew MessageExpunge FlagChange))"
    assert conn.command(b"C", text) == [b"C OK NOTIFY completed"]
    assert conn.command(b"D", b"NOTIFY NONE") == [b"D OK NOTIFY completed"]
    conn.close()


def test_events_arrive_between_commands(harness: ServerHarness) -> None:
    changer = other(harness)
    changer.create("Watch")
    changer.create("Elsewhere")
    conn = raw(harness)
    assert conn.command(b"S", b"SELECT Watch")[-1].startswith(b"S OK")
    text = (
        b"NOTIFY SET (selected (MessageNew (UID FLAGS) MessageExpunge FlagChange))"
        b" (personal (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange))"
    )
    assert conn.command(b"N", text) == [b"N OK NOTIFY completed"]
    # a message delivered to the selected mailbox: EXISTS, then the FETCH items asked for
    changer.append("Watch", None, None, sample_message("new"))
    lines = unsolicited(conn, rb"^\* 1 FETCH ")
    assert b"* 1 EXISTS" in lines
    assert re.fullmatch(rb"\* 1 FETCH \(UID 1 FLAGS \([^)]*\)\)", lines[-1])
    # a flag changed by the other session
    changer.select("Watch")
    changer.store("1", "+FLAGS", "(\\Flagged)")
    lines = unsolicited(conn, rb"^\* 1 FETCH ")
    assert b"\\Flagged" in lines[-1]
    # a message delivered to another mailbox: STATUS
    changer.append("Elsewhere", None, None, sample_message("there"))
    lines = unsolicited(conn, rb"^\* STATUS ")
    assert re.fullmatch(
        rb"\* STATUS Elsewhere \(MESSAGES 1 UIDNEXT 2 UIDVALIDITY \d+ HIGHESTMODSEQ \d+\)",
        lines[-1],
    )
    # mailboxes created, subscribed, deleted
    changer.create("Fresh")
    assert unsolicited(conn, rb"^\* LIST ")[-1] == b'* LIST () "/" Fresh'
    changer.subscribe("Fresh")
    assert unsolicited(conn, rb"^\* LIST ")[-1] == b'* LIST (\\Subscribed) "/" Fresh'
    changer.delete("Fresh")
    assert b'* LIST (\\NonExistent) "/" Fresh' in unsolicited(conn, rb"NonExistent")
    # an expunge in the selected mailbox, announced with no command in progress
    changer.store("1", "+FLAGS", "(\\Deleted)")
    changer.expunge()
    assert unsolicited(conn, rb"EXPUNGE")[-1] == b"* 1 EXPUNGE"
    # commands still work, and NOTIFY NONE stops the STATUS responses
    assert conn.command(b"Z", b"NOTIFY NONE") == [b"Z OK NOTIFY completed"]
    changer.append("Elsewhere", None, None, sample_message("quiet"))
    assert conn.command(b"Y", b"NOOP") == [b"Y OK NOOP completed"]
    changer.logout()
    conn.close()


def test_other_mailboxes_reported_during_idle(harness: ServerHarness) -> None:
    changer = other(harness)
    changer.create("Idled")
    conn = raw(harness)
    text = b"NOTIFY SET (subtree Idled (MessageNew MessageExpunge))"
    assert conn.command(b"N", text) == [b"N OK NOTIFY completed"]
    conn.send(b"I IDLE\r\n")
    assert conn.read_line().startswith(b"+ ")
    changer.append("Idled", None, None, sample_message("during idle"))
    line = unsolicited(conn, rb"^\* STATUS ")[-1]
    assert re.fullmatch(rb"\* STATUS Idled \(MESSAGES 1 UIDNEXT 2 UIDVALIDITY \d+\)", line)
    conn.send(b"DONE\r\n")
    assert conn.until_tagged(b"I")[-1] == b"I OK IDLE terminated"
    changer.logout()
    conn.close()


def test_grammar_and_unsupported_events(harness: ServerHarness) -> None:
    conn = RawClient(harness.server.host, harness.server.port)
    assert conn.command(b"A", b"NOTIFY NONE")[-1].startswith(b"A BAD")  # not logged in
    conn.command(b"L", f'LOGIN {ALICE} "{PASSWORD}"'.encode())
    for bad in (
        b"NOTIFY",
        b"NOTIFY SET",
        b"NOTIFY SET (selected (MessageNew))",  # MessageNew needs MessageExpunge
        b"NOTIFY SET (personal (FlagChange))",
        b"NOTIFY SET (personal (MessageNew (UID) MessageExpunge))",  # FETCH: selected only
        b"NOTIFY SET (somewhere (MessageNew MessageExpunge))",
        b"NOTIFY SET (selected NONE) (selected-delayed NONE)",
        b"NOTIFY SET (mailboxes (MessageNew MessageExpunge))",
        b"NOTIFY ON",
    ):
        assert conn.command(b"B", bad)[-1].startswith(b"B BAD"), bad
    lines = conn.command(b"C", b"NOTIFY SET (personal (MailboxMetadataChange))")
    assert lines[-1].startswith(b"C NO [BADEVENT (MessageNew MessageExpunge FlagChange")
    assert conn.command(b"D", b"NOTIFY SET (selected NONE) (inboxes NONE)")[-1] == (
        b"D OK NOTIFY completed"
    )
    conn.close()


def test_rename_is_one_list_response_with_oldname(harness: ServerHarness) -> None:
    """RFC 5465 5.4: a renamed mailbox (and each child it takes along) is told as its new
    name with the OLDNAME extended data item, not as a delete and a create."""
    changer = other(harness)
    changer.create("Before")
    changer.create("Before/Inner")
    conn = raw(harness)
    text = b"NOTIFY SET (personal (MailboxName))"
    assert conn.command(b"N", text) == [b"N OK NOTIFY completed"]
    assert changer.rename("Before", "After")[0] == "OK"
    lines = unsolicited(conn, rb'^\* LIST \(\) "/" After/Inner ')
    assert b'* LIST () "/" After ("OLDNAME" (Before))' in lines
    assert b'* LIST () "/" After/Inner ("OLDNAME" (Before/Inner))' in lines
    assert not [line for line in lines if b"NonExistent" in line], lines
    # a create and a delete stay what they are
    changer.create("Plain")
    assert unsolicited(conn, rb"^\* LIST ")[-1] == b'* LIST () "/" Plain'
    changer.delete("Plain")
    assert unsolicited(conn, rb"^\* LIST ")[-1] == b'* LIST (\\NonExistent) "/" Plain'
    changer.logout()
    conn.close()
