"""Mailbox names with ``\\``, dots and other characters Dovecot accepts, over IMAPClient."""

from __future__ import annotations

import pytest
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError
from support.imap import ALICE, RawClient, ServerHarness, sample_message

PASSWORD = "alice password"

pytestmark = pytest.mark.imap_server()


def test_odd_names_work_and_stay_inside_the_maildir(harness: ServerHarness) -> None:
    client = IMAPClient(harness.server.host, harness.server.port, ssl=False, timeout=15)
    client.login(ALICE, PASSWORD)
    names = ["back\\slash", "v1.2", ".dotfirst", "Caf\u00e9.x/sub\\b"]
    for name in names:
        client.create_folder(name)
        client.append(name, sample_message(f"in {name}"))
    listed = [n for _, _, n in client.list_folders()]
    for name in names:
        assert name in listed
        assert client.select_folder(name)[b"EXISTS"] == 1
    client.rename_folder("back\\slash", "back\\slash.renamed")
    assert "back\\slash.renamed" in [n for _, _, n in client.list_folders()]
    for bad in ("..", "a/../b", "x%y", "wild*"):
        with pytest.raises(IMAPClientError):
            client.create_folder(bad)
    client.logout()
    root = harness.store.folder_path(ALICE, "INBOX")
    for entry in root.parent.rglob("*"):
        assert entry.resolve().is_relative_to(root.parent.resolve())
    assert (root / ".v1%2E2").is_dir() and (root / ".%2Edotfirst").is_dir()


def test_raw_quoted_backslash_name(harness: ServerHarness) -> None:
    conn = RawClient(harness.server.host, harness.server.port)
    assert conn.command(b"L", f'LOGIN {ALICE} "{PASSWORD}"'.encode())[-1].startswith(b"L OK")
    assert conn.command(b"C", b'CREATE "raw\\\\name"')[-1].startswith(b"C OK")
    assert b'* LIST (\\HasNoChildren) "/" "raw\\\\name"' in conn.command(b"A", b'LIST "" raw*')
    assert conn.command(b"S", b'SELECT "raw\\\\name"')[-1].startswith(b"S OK")
    conn.close()
