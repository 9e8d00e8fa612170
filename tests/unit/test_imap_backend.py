"""UserMail, the IMAP server's storage side: reads and flag changes go by file name."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from imapd.backend import UserMail
from mailrs.store.maildir import MaildirStore

ALICE = "alice@example.test"
RAW = b"From: bob@example.test\r\nSubject: hi\r\n\r\nhello\r\n"


@pytest.fixture
def maildir(tmp_path: Path) -> MaildirStore:
    store = MaildirStore(tmp_path / "maildir")
    store.create_user(ALICE)
    return store


def forbid_find(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record every key that find() has to scan for; returns that list."""
    scanned: list[str] = []
    real_find = MaildirStore.find

    def recording_find(folder: Path, key: str):  # type: ignore[no-untyped-def]
        scanned.append(key)
        return real_find(folder, key)

    monkeypatch.setattr(MaildirStore, "find", staticmethod(recording_find))
    return scanned


def test_select_fetch_and_flag_without_scanning(
    maildir: MaildirStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = [maildir.deliver(ALICE, RAW, mtime=1_700_000_000 + n).key for n in range(50)]
    scanned = forbid_find(monkeypatch)

    async def session() -> None:
        mail = UserMail(maildir, ALICE)
        try:
            result = await mail.sync("INBOX", claim_recent=True)  # new/ -> cur/ by name
            assert len(result.recent) == 50
            for message in result.state.messages:
                assert await mail.read("INBOX", message.key) == RAW
                assert await mail.set_flags("INBOX", message.key, "S") == "S"
                assert await mail.read("INBOX", message.key) == RAW  # the new name is known
            assert mail.filename_of("INBOX", keys[0]) == f"{keys[0]}:2,S"
        finally:
            await mail.close()

    asyncio.run(session())
    assert scanned == []
    assert {m.filename for m in maildir.list_messages(ALICE)} == {f"{k}:2,S" for k in keys}


def test_a_file_renamed_elsewhere_is_still_found(
    maildir: MaildirStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = maildir.deliver(ALICE, RAW).key
    scanned = forbid_find(monkeypatch)

    async def session() -> None:
        mail = UserMail(maildir, ALICE)
        try:
            await mail.sync("INBOX", claim_recent=False)
            maildir.set_flags(ALICE, "INBOX", key, "F")  # another process renames it
            assert await mail.read("INBOX", key) == RAW
            assert await mail.set_flags("INBOX", key, "FS") == "FS"
            assert mail.filename_of("INBOX", key) == f"{key}:2,FS"
            scanned.clear()
            assert await mail.read("INBOX", key) == RAW
            assert scanned == []
        finally:
            await mail.close()

    asyncio.run(session())
