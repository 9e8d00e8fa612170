"""``mailrs backup`` while imapd runs, ``mailrs restore`` into a fresh data directory, and
the same UIDs, UIDVALIDITY and flags over IMAP from an imapd started on the restored copy."""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from imapclient import IMAPClient
from support.config import provision, write_config
from support.imap import ImapProcess
from support.processes import mailrs_argv, service_env
from support.services import require_service, require_tool

from mailrs.config import load_settings
from mailrs.store.mailbox import MailboxService
from mailrs.store.maildir import MaildirStore

ALICE = "alice@example.test"
PASSWORD = "alice password"  # provision(): "<local> password"


def message(n: int) -> bytes:
    """A small message."""
    return (
        f"From: bob@remote.test\r\nTo: {ALICE}\r\nSubject: message {n}\r\n"
        f"Message-ID: <{n}@remote.test>\r\n\r\nBody {n}\r\n"
    ).encode()


def run(config: Path | None, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``mailrs ARGS`` as a child process."""
    env = service_env(config) if config else service_env(cwd / "none.toml")
    return subprocess.run(
        mailrs_argv(*args), env=env, cwd=cwd, capture_output=True, text=True, timeout=180
    )


def state(imap: ImapProcess) -> dict[str, tuple[int, dict[int, tuple[bytes, ...]]]]:
    """UIDVALIDITY and UID -> flags of every mailbox, seen over IMAP."""
    seen = {}
    with IMAPClient(imap.host, imap.port, ssl=False) as client:
        client.login(ALICE, PASSWORD)
        for _, _, name in client.list_folders():
            info = client.select_folder(name, readonly=True)
            flags = client.fetch(client.search("ALL"), ["FLAGS"]) if info[b"EXISTS"] else {}
            seen[name] = (
                info[b"UIDVALIDITY"],
                {uid: tuple(sorted(data[b"FLAGS"])) for uid, data in flags.items()},
            )
    return seen


@pytest.mark.slow  # two imapd runs and several mailrs commands
def test_backup_while_running_then_restore_keeps_uids_uidvalidity_and_flags(
    tmp_path: Path,
) -> None:
    original = tmp_path / "original"
    original.mkdir()
    config = provision(original, users=(ALICE,))
    settings = load_settings(config, environ={})
    with MailboxService(MaildirStore(settings.maildir_path), ALICE) as service:
        for n in range(1, 4):
            service.deliver(message(n), key=f"delivered{n}")
    added = run(config, "domain", "add", "example.test", cwd=original)
    assert added.returncode == 0, added.stderr
    imap = ImapProcess(config, tmp_path / "imapd.log").start()
    try:
        with IMAPClient(imap.host, imap.port, ssl=False) as client:
            client.login(ALICE, PASSWORD)
            client.create_folder("Projects")
            client.append("Projects", message(10), flags=[b"\\Flagged"])
            client.append("Projects", message(11))
            client.select_folder("INBOX")
            client.add_flags([1], [b"\\Seen", b"\\Answered"])
            client.add_flags([3], [b"$Label1"])
            client.delete_messages([2])  # \Deleted, not expunged
        before = state(imap)
        backup = tmp_path / "backup"
        made = run(config, "backup", str(backup), "--config", str(config), cwd=original)
        assert made.returncode == 0, made.stderr
    finally:
        imap.stop()
    manifest = json.loads((backup / "manifest.json").read_text())
    assert manifest["database"] == {"kind": "sqlite", "file": "mailrs.db"}
    assert manifest["maildir"]["indexes"] == 1 and manifest["maildir"]["files"] >= 5
    key = next((backup / "dkim" / "example.test").glob("*.rsa.pem"))
    assert stat.S_IMODE(key.stat().st_mode) == 0o600

    shutil.rmtree(original / "data")  # the original is gone: only the backup is left
    fresh = tmp_path / "restored"
    restored = run(None, "restore", str(backup), "--data-dir", str(fresh), cwd=tmp_path)
    assert restored.returncode == 0, restored.stderr
    new_config = fresh / "mailrs.toml"
    new_settings = load_settings(new_config, environ={})
    assert new_settings.data_dir == fresh and new_settings.maildir_path == fresh / "maildir"
    assert new_settings.database_url == f"sqlite:///{fresh / 'mailrs.db'}"
    again = ImapProcess(new_config, tmp_path / "imapd-restored.log").start()
    try:
        after = state(again)
    finally:
        again.stop()
    assert after == before
    assert before["INBOX"][1][1] == (b"\\Answered", b"\\Seen")
    assert b"$Label1" in before["INBOX"][1][3] and b"\\Deleted" in before["INBOX"][1][2]
    assert (fresh / "dkim" / "example.test").is_dir()
    records = run(new_config, "domain", "records", "example.test", cwd=tmp_path)
    assert records.returncode == 0 and "_domainkey" in records.stdout


def test_restore_refuses_a_folder_that_is_not_a_backup_and_a_used_data_dir(
    tmp_path: Path,
) -> None:
    (tmp_path / "nothing").mkdir()
    refused = run(None, "restore", str(tmp_path / "nothing"), "--data-dir", "x", cwd=tmp_path)
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        f"Error: {tmp_path / 'nothing'} is not a mailrs backup (no manifest.json)"
    )
    (tmp_path / "site").mkdir()
    config = provision(tmp_path / "site", users=(ALICE,))
    backup = tmp_path / "backup"
    assert run(config, "backup", str(backup), "--config", str(config), cwd=tmp_path).returncode == 0
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "something").write_text("x")
    used = run(None, "restore", str(backup), "--data-dir", str(busy), cwd=tmp_path)
    assert used.returncode == 1 and "exists and is not empty" in used.stderr
    again = run(config, "backup", str(backup), "--config", str(config), cwd=tmp_path)
    assert again.returncode == 1 and "exists and is not empty" in again.stderr


def test_postgres_backup_and_restore_with_pg_dump(tmp_path: Path) -> None:
    require_tool("pg_dump")
    require_tool("pg_restore")
    require_service("PostgreSQL", "127.0.0.1", 5432)
    import psycopg

    names = [f"mailrs_bk_{tmp_path.name[-12:].lower().replace('-', '_')}_{i}" for i in (1, 2)]
    admin = psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True)
    try:
        for name in names:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
            admin.execute(f'CREATE DATABASE "{name}"')
        source, target = (f"postgresql+psycopg://postgres@127.0.0.1:5432/{n}" for n in names)
        config = write_config(tmp_path, db_url=source)
        assert run(config, "db", "upgrade", "--config", str(config), cwd=tmp_path).returncode == 0
        assert (
            run(
                config, "domain", "add", "pg.test", "--config", str(config), cwd=tmp_path
            ).returncode
            == 0
        )
        backup = tmp_path / "backup"
        made = run(config, "backup", str(backup), "--config", str(config), cwd=tmp_path)
        assert made.returncode == 0, made.stderr
        assert (
            json.loads((backup / "manifest.json").read_text())["database"]["kind"] == "postgresql"
        )
        fresh = tmp_path / "restored"
        restored = run(
            None,
            "restore",
            str(backup),
            "--data-dir",
            str(fresh),
            "--database-url",
            target,
            cwd=tmp_path,
        )
        assert restored.returncode == 0, restored.stderr
        listed = run(fresh / "mailrs.toml", "domain", "list", cwd=tmp_path)
        assert listed.returncode == 0 and listed.stdout.startswith("pg.test\t"), listed.stderr
    finally:
        for name in names:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
