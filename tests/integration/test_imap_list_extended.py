"""LIST-EXTENDED (RFC 5258), LIST-STATUS (RFC 5819) and SPECIAL-USE selection over sockets."""

from __future__ import annotations

import imaplib

import pytest
from imapclient import IMAPClient
from support.imap import ALICE, RawClient, ServerHarness, sample_message

PASSWORD = "alice password"

pytestmark = pytest.mark.imap_server()


@pytest.fixture(scope="module")
def folders(harness: ServerHarness) -> None:
    """Tree/A (subscribed, two messages), Tree/B, Tree/B/Deep (subscribed), Gone (subscribed
    and then deleted)."""
    client = IMAPClient(harness.server.host, harness.server.port, ssl=False, timeout=15)
    client.login(ALICE, PASSWORD)
    for name in ("Tree/A", "Tree/B/Deep", "Gone"):
        client.create_folder(name)
    client.append("Tree/A", sample_message("one"))
    client.append("Tree/A", sample_message("two"), flags=[b"\\Seen"])
    for name in ("Tree/A", "Tree/B/Deep", "Gone"):
        client.subscribe_folder(name)
    client.delete_folder("Gone")
    client.logout()


def raw(harness: ServerHarness) -> RawClient:
    """A raw client logged in as Alice."""
    conn = RawClient(harness.server.host, harness.server.port)
    assert conn.command(b"L", f'LOGIN {ALICE} "{PASSWORD}"'.encode())[-1].startswith(b"L OK")
    return conn


def test_capabilities(harness: ServerHarness) -> None:
    conn = imaplib.IMAP4(harness.server.host, harness.server.port, timeout=15)
    conn.login(ALICE, PASSWORD)
    assert "LIST-EXTENDED" in conn.capabilities and "LIST-STATUS" in conn.capabilities
    conn.logout()


def test_subscribed_selection_and_nonexistent(harness: ServerHarness, folders: None) -> None:
    conn = raw(harness)
    lines = conn.command(b"A", b'LIST (SUBSCRIBED) "" "*"')
    assert lines[-1].startswith(b"A OK")
    assert b'* LIST (\\HasNoChildren \\Subscribed) "/" Tree/A' in lines
    assert b'* LIST (\\HasNoChildren \\Subscribed) "/" Tree/B/Deep' in lines
    assert b'* LIST (\\NonExistent \\Subscribed) "/" Gone' in lines
    assert not any(b"Tree/B " in line or line.endswith(b" Tree/B") for line in lines)
    conn.close()


def test_recursivematch_childinfo(harness: ServerHarness, folders: None) -> None:
    conn = raw(harness)
    lines = conn.command(b"A", b'LIST (SUBSCRIBED RECURSIVEMATCH) "Tree/" "%"')
    assert lines[:-1] == [
        b'* LIST (\\HasNoChildren \\Subscribed) "/" Tree/A',
        b'* LIST (\\HasChildren) "/" Tree/B ("CHILDINFO" ("SUBSCRIBED"))',
    ]
    assert conn.command(b"B", b'LIST (RECURSIVEMATCH) "" "*"')[-1].startswith(b"B BAD")
    assert conn.command(b"C", b'LIST (BOGUS) "" "*"')[-1].startswith(b"C BAD")
    conn.close()


def test_multiple_patterns_return_subscribed_and_status(
    harness: ServerHarness, folders: None
) -> None:
    conn = raw(harness)
    lines = conn.command(
        b"A", b'LIST "" ("Tree/A" INBOX) RETURN (SUBSCRIBED CHILDREN STATUS (MESSAGES UNSEEN))'
    )
    assert lines == [
        b'* LIST (\\HasNoChildren) "/" INBOX',
        b"* STATUS INBOX (MESSAGES 0 UNSEEN 0)",
        b'* LIST (\\HasNoChildren \\Subscribed) "/" Tree/A',
        b"* STATUS Tree/A (MESSAGES 2 UNSEEN 1)",
        b"A OK LIST completed",
    ]
    # no STATUS for a name that is not a mailbox
    lines = conn.command(b"B", b'LIST (SUBSCRIBED) "" "Gone" RETURN (STATUS (MESSAGES))')
    assert lines == [b'* LIST (\\NonExistent \\Subscribed) "/" Gone', b"B OK LIST completed"]
    conn.close()


def test_special_use_selection_with_imapclient(harness: ServerHarness, folders: None) -> None:
    client = IMAPClient(harness.server.host, harness.server.port, ssl=False, timeout=15)
    client.login(ALICE, PASSWORD)
    assert client.find_special_folder(b"\\Junk") == "Junk"
    typ, data = client._imap.list('(SPECIAL-USE) ""', "*")  # the imaplib under IMAPClient
    assert typ == "OK" and len(data) == 5
    client.logout()
    conn = raw(harness)
    lines = conn.command(b"A", b'LIST (SPECIAL-USE) "" "*"')
    names = {line.rsplit(b" ", 1)[-1] for line in lines[:-1]}
    assert names == {b"Archive", b"Drafts", b"Junk", b"Sent", b"Trash"}
    assert all(b"Tree" not in line for line in lines)
    # plain LIST is unchanged
    assert b'* LIST (\\HasNoChildren) "/" Tree/A' in conn.command(b"B", b'LIST "" "*"')
    conn.close()
