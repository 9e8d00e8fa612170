"""``mailrs import mbox|maildir|imap`` and ``mailrs export``: through the mailbox service,
flags and dates kept; the IMAP import from a real Dovecot, idempotent when re-run."""

from __future__ import annotations

import imaplib
import mailbox
import subprocess
from pathlib import Path

import pytest
from support.config import provision
from support.dovecot import Dovecot
from support.processes import mailrs_argv, service_env
from support.services import require_tool

from mailrs.config import load_settings
from mailrs.store import mutf7
from mailrs.store.mailbox import MailboxService
from mailrs.store.maildir import MaildirStore

ALICE = "alice@example.test"
BOB = "bob@example.test"
SOURCE_LOGIN = "src@example.org"
SOURCE_PASSWORD = "source password 1"


def message(n: int, body: str = "") -> bytes:
    """A small message with a Message-ID."""
    return (
        f"From: carol@remote.test\r\nTo: {ALICE}\r\nSubject: message {n}\r\n"
        f"Date: Tue, 14 Nov 2023 22:13:{n:02d} +0000\r\n"
        f"Message-ID: <{n}@remote.test>\r\n\r\n{body or f'Body {n}'}\r\n"
    ).encode()


def run(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``mailrs ARGS --config CONFIG`` as a child process."""
    return subprocess.run(
        mailrs_argv(*args, "--config", str(config)),
        env=service_env(config),
        cwd=config.parent,
        capture_output=True,
        text=True,
        timeout=180,
    )


def contents(config: Path, address: str) -> dict[str, list[tuple[bytes, str, str, float]]]:
    """Folder -> (subject line, flags, keywords, date) of every message, through the service."""
    settings = load_settings(config, environ={})
    found = {}
    with MailboxService(MaildirStore(settings.maildir_path), address) as service:
        for name in service.list_folders():
            rows = []
            for m in service.messages(name):
                data = service.read(name, m.key, m.filename)
                subject = next(x for x in data.split(b"\r\n") if x.startswith(b"Subject:"))
                rows.append((subject, m.flags, m.keywords, m.internaldate))
            found[name] = sorted(rows)
    return found


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """An installation with Alice and Bob."""
    return provision(tmp_path, users=(ALICE, BOB))


def test_mbox_import_export_and_maildir_round_trip(config: Path, tmp_path: Path) -> None:
    source = tmp_path / "old.mbox"
    box = mailbox.mbox(source)
    first = mailbox.mboxMessage(message(1, "From here on, a body line that starts with From"))
    first.set_flags("RO")  # read
    first.set_from("carol@remote.test", (2023, 11, 14, 22, 13, 1, 0, 0, 0))  # type: ignore[arg-type]
    box.add(first)
    second = mailbox.mboxMessage(message(2))
    second.set_flags("OF")  # flagged, not read
    box.add(second)
    box.close()
    imported = run(config, "import", "mbox", ALICE, str(source), "--folder", "Old/Mail")
    assert imported.returncode == 0, imported.stderr
    assert "imported 2 messages into Old/Mail" in imported.stdout
    old = contents(config, ALICE)["Old/Mail"]
    assert [(s, f) for s, f, _, _ in old] == [
        (b"Subject: message 1", "S"),
        (b"Subject: message 2", "F"),
    ]
    assert old[0][3] == 1_699_999_981.0  # 2023-11-14 22:13:01 UTC, the From_ line's date

    as_maildir = tmp_path / "export-maildir"
    exported = run(config, "export", ALICE, str(as_maildir))
    assert exported.returncode == 0, exported.stderr
    assert (as_maildir / ".Old.Mail" / "cur").is_dir()
    back = run(config, "import", "maildir", BOB, str(as_maildir))
    assert back.returncode == 0, back.stderr
    alice, bob = contents(config, ALICE), contents(config, BOB)
    assert bob["Old/Mail"] == alice["Old/Mail"]  # flags and dates survive the round trip

    as_mbox = tmp_path / "export-mbox"
    exported = run(config, "export", ALICE, str(as_mbox), "--format", "mbox")
    assert exported.returncode == 0, exported.stderr
    reread = mailbox.mbox(as_mbox / "Old" / "Mail.mbox")
    flags = sorted((m["Subject"], "".join(sorted(m.get_flags()))) for m in reread)
    assert flags == [("message 1", "OR"), ("message 2", "FO")]
    body = reread.get_bytes(0) if reread[0]["Subject"] == "message 1" else reread.get_bytes(1)
    assert b"\n>From here on" in body  # mboxrd quoting of a body line starting with From


def test_import_refusals_are_one_line(config: Path, tmp_path: Path) -> None:
    nobody = run(config, "import", "mbox", "nobody@example.test", str(config))
    assert nobody.returncode == 1 and nobody.stderr.strip() == "Error: no user nobody@example.test"
    not_maildir = run(config, "import", "maildir", ALICE, str(tmp_path))
    assert not_maildir.returncode == 1
    assert not_maildir.stderr.strip() == f"Error: {tmp_path} is not a Maildir (no cur/)"
    target = tmp_path / "full"
    target.mkdir()
    (target / "x").write_text("x")
    busy = run(config, "export", ALICE, str(target))
    assert busy.returncode == 1 and "exists and is not empty" in busy.stderr


def seed(port: int) -> None:
    """Put mail into the Dovecot account: folders, flags, keywords and dates."""
    client = imaplib.IMAP4("127.0.0.1", port)
    client.login(SOURCE_LOGIN, SOURCE_PASSWORD)
    client.create("Work")
    client.create("Work.2023")
    when = imaplib.Time2Internaldate(1_600_000_000)
    assert client.append("INBOX", r"(\Seen)", when, message(1))[0] == "OK"
    assert client.append("INBOX", r"(\Flagged \Answered)", when, message(2))[0] == "OK"
    assert client.append("Work", r"($Label1 \Seen)", when, message(3))[0] == "OK"
    assert client.append("Work.2023", "()", when, message(4))[0] == "OK"
    client.logout()


def test_imap_import_from_dovecot_is_complete_and_idempotent(config: Path, tmp_path: Path) -> None:
    require_tool("dovecot")
    password_file = tmp_path / "source-password"
    password_file.write_text(SOURCE_PASSWORD + "\n")
    args = [
        "import", "imap", "--host", "127.0.0.1", "--user", SOURCE_LOGIN,
        "--password-file", str(password_file), "--security", "none",
    ]  # fmt: skip
    with Dovecot(SOURCE_LOGIN, SOURCE_PASSWORD) as source:
        seed(source.port)
        first = run(config, *args, "--port", str(source.port), ALICE)
        assert first.returncode == 0, first.stdout + first.stderr
        assert "imported 4 messages" in first.stdout
        found = contents(config, ALICE)
        assert [(s, f, k) for s, f, k, _ in found["INBOX"]] == [
            (b"Subject: message 1", "S", ""),
            (b"Subject: message 2", "FR", ""),
        ]
        assert [(s, f, k) for s, f, k, _ in found["Work"]] == [
            (b"Subject: message 3", "S", "$Label1")
        ]
        assert [s for s, _, _, _ in found["Work/2023"]] == [b"Subject: message 4"]
        assert {d for rows in found.values() for _, _, _, d in rows} == {1_600_000_000.0}

        again = run(config, *args, "--port", str(source.port), ALICE)
        assert again.returncode == 0, again.stderr
        assert "imported 0 messages for alice@example.test (4 were here already)" in again.stdout
        assert contents(config, ALICE) == found

        client = imaplib.IMAP4("127.0.0.1", source.port)
        client.login(SOURCE_LOGIN, SOURCE_PASSWORD)
        client.append("Work", r"(\Seen)", imaplib.Time2Internaldate(1_600_000_500), message(5))
        client.logout()
        third = run(config, *args, "--port", str(source.port), ALICE)
        assert third.returncode == 0, third.stderr
        assert "imported 1 messages" in third.stdout
        assert len(contents(config, ALICE)["Work"]) == 2

        wrong = tmp_path / "wrong-password"
        wrong.write_text("not it\n")
        bad = run(
            config, "import", "imap", "--host", "127.0.0.1", "--port", str(source.port),
            "--user", SOURCE_LOGIN, "--password-file", str(wrong), "--security", "none", ALICE,
        )  # fmt: skip
        assert bad.returncode == 1 and len(bad.stderr.strip().splitlines()) == 1
        assert "AUTHENTICATIONFAILED" in bad.stderr or "Authentication failed" in bad.stderr


def test_imap_import_decodes_modified_utf7_folder_names(config: Path, tmp_path: Path) -> None:
    require_tool("dovecot")
    password_file = tmp_path / "source-password"
    password_file.write_text(SOURCE_PASSWORD + "\n")
    names = ["Entwürfe", "Работа", "Работа.Отчёты 2023", "Tom & Jerry", "日本語"]
    with Dovecot(SOURCE_LOGIN, SOURCE_PASSWORD) as source:
        client = imaplib.IMAP4("127.0.0.1", source.port)
        client.login(SOURCE_LOGIN, SOURCE_PASSWORD)
        when = imaplib.Time2Internaldate(1_600_000_000)
        for n, name in enumerate(names, start=1):
            wire = '"' + mutf7.encode(name) + '"'
            assert client.create(wire)[0] == "OK", name
            assert client.append(wire, r"(\Seen)", when, message(n))[0] == "OK", name
        listed = b" ".join(line for line in client.list()[1] if isinstance(line, bytes))
        assert b"Entw&APw-rfe" in listed and b"Tom &- Jerry" in listed  # Dovecot's wire form
        client.logout()
        args = [
            "import", "imap", "--host", "127.0.0.1", "--port", str(source.port),
            "--user", SOURCE_LOGIN, "--password-file", str(password_file), "--security", "none",
            ALICE,
        ]  # fmt: skip
        first = run(config, *args)
        assert first.returncode == 0, first.stdout + first.stderr
        assert "imported 5 messages" in first.stdout
        found = contents(config, ALICE)
        expected = {"Entwürfe", "Работа", "Работа/Отчёты 2023", "Tom & Jerry", "日本語"}
        assert expected <= set(found)
        assert not any("&" in name and name != "Tom & Jerry" for name in found)
        assert [s for s, _, _, _ in found["Работа/Отчёты 2023"]] == [b"Subject: message 3"]
        again = run(config, *args)
        assert again.returncode == 0, again.stderr
        assert "imported 0 messages" in again.stdout
    settings = load_settings(config, environ={})
    with MailboxService(MaildirStore(settings.maildir_path), ALICE) as service:
        assert service.exists("Entwürfe") and service.exists("Работа/Отчёты 2023")
