"""mbsync (isync) keeps a local Maildir and a mailrs folder in step, both ways."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from imapclient import IMAPClient
from support.imap import ALICE, ServerHarness, sample_message
from support.services import require_tool

PASSWORD = "alice password"


pytestmark = pytest.mark.imap_server()


def write_config(harness: ServerHarness, local: Path) -> Path:
    """An mbsync configuration for Alice's "Sync" folder and a local Maildir."""
    config = local.parent / "mbsyncrc"
    config.write_text(
        f"""IMAPAccount mailrs
Host {harness.server.host}
Port {harness.server.port}
User {ALICE}
Pass "{PASSWORD}"
SSLType None
AuthMechs LOGIN

IMAPStore remote
Account mailrs

MaildirStore local
Path {local}/
Inbox {local}/INBOX
SubFolders Verbatim

Channel sync
Far :remote:
Near :local:
Patterns Sync
Create Both
Expunge Both
SyncState *
"""
    )
    return config


def run_mbsync(config: Path) -> None:
    """Run one full sync; fail with mbsync's own output if it fails."""
    result = subprocess.run(
        [require_tool("mbsync"), "-c", str(config), "-a"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def local_messages(local: Path) -> dict[str, str]:
    """Subject -> Maildir flags of every message in the local Sync folder."""
    found = {}
    for sub in ("new", "cur"):
        for entry in (local / "Sync" / sub).iterdir():
            subject = next(
                line.split(b":", 1)[1].strip().decode()
                for line in entry.read_bytes().splitlines()
                if line.startswith(b"Subject:")
            )
            found[subject] = entry.name.partition(":2,")[2]
    return found


def server_messages(client: IMAPClient) -> dict[str, set[bytes]]:
    """Subject -> flags (without \\Recent) of every message in the server's Sync folder."""
    client.select_folder("Sync")
    data = client.fetch(client.search(), ["FLAGS", "BODY.PEEK[HEADER.FIELDS (SUBJECT)]"])
    out = {}
    for item in data.values():
        subject = item[b"BODY[HEADER.FIELDS (SUBJECT)]"].split(b":", 1)[1].strip().decode()
        out[subject] = set(item[b"FLAGS"]) - {b"\\Recent"}
    return out


def test_mbsync_round_trip(harness: ServerHarness, tmp_path: Path) -> None:
    client = IMAPClient(harness.server.host, harness.server.port, ssl=False, timeout=15)
    client.login(ALICE, PASSWORD)
    client.create_folder("Sync")
    client.append("Sync", sample_message("one"))
    client.append("Sync", sample_message("two"), flags=[b"\\Seen"])
    local = tmp_path / "local"
    local.mkdir()
    config = write_config(harness, local)
    run_mbsync(config)
    assert local_messages(local) == {"one": "", "two": "S"}

    # server -> local: a new message, a flag change and a deletion
    client.append("Sync", sample_message("three"))
    client.select_folder("Sync")
    found = client.search()
    assert len(found) == 3
    uids = dict(zip(["one", "two", "three"], found, strict=True))
    client.add_flags([uids["one"]], [b"\\Flagged"])
    client.delete_messages([uids["two"]])
    client.expunge()
    client.unselect_folder()
    run_mbsync(config)
    assert local_messages(local) == {"one": "F", "three": ""}

    # local -> server: a new message, a flag change and a deletion
    new_file = local / "Sync" / "new" / "1700000000.local1.test"
    new_file.write_bytes(sample_message("four"))
    for sub in ("new", "cur"):
        for entry in (local / "Sync" / sub).iterdir():
            if b"Subject: three" in entry.read_bytes():
                seen = local / "Sync" / "cur" / (entry.name.partition(":2,")[0] + ":2,S")
                os.rename(entry, seen)
    for sub in ("new", "cur"):
        for entry in (local / "Sync" / sub).iterdir():
            if b"Subject: one" in entry.read_bytes():
                entry.unlink()
    run_mbsync(config)
    assert server_messages(client) == {"three": {b"\\Seen"}, "four": set()}
    run_mbsync(config)  # a second run finds nothing left to do
    assert sorted(local_messages(local)) == ["four", "three"]
    client.logout()
