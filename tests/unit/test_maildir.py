"""The Maildir store: atomic delivery, flags, move, expunge, interoperability and traversal."""

from __future__ import annotations

import mailbox
import os
from pathlib import Path

import pytest

from mailrs.errors import (
    InvalidAddress,
    InvalidMailboxName,
    MailboxExists,
    MailboxNotFound,
    MessageNotFound,
)
from mailrs.store.filenames import split_filename, stable_name
from mailrs.store.folder_sync import sync_folders
from mailrs.store.index import MailIndex
from mailrs.store.maildir import MaildirStore
from mailrs.store.names import folder_dirname, normalize_mailbox_name

USER = "alice@example.test"
RAW = b"From: bob@example.test\r\nSubject: hi\r\n\r\nhello\r\n"


@pytest.fixture
def user_store(tmp_path: Path) -> MaildirStore:
    store = MaildirStore(tmp_path / "maildir")
    store.create_user(USER)
    return store


def test_create_user_makes_maildir_and_special_folders(user_store: MaildirStore) -> None:
    root = user_store.user_dir(USER)
    for sub in ("cur", "new", "tmp"):
        assert (root / sub).is_dir()
    assert user_store.list_folders(USER) == ["INBOX", "Archive", "Drafts", "Junk", "Sent", "Trash"]
    assert (root / ".Sent" / "maildirfolder").exists()
    assert user_store.user_dir("Alice@EXAMPLE.test") == root


def test_delivery_is_atomic_and_named_per_spec(user_store: MaildirStore) -> None:
    stored = user_store.deliver(USER, RAW)
    root = user_store.user_dir(USER)
    assert stored.subdir == "new"
    assert os.listdir(root / "tmp") == []
    seconds, rest = stored.key.split(".", 1)
    assert seconds.isdigit() and rest.startswith("M") and f"P{os.getpid()}" in rest
    assert stored.key.endswith(f",S={len(RAW)}")
    assert (root / "new" / stored.filename).read_bytes() == RAW
    assert user_store.read(USER, "INBOX", stored.key) == RAW


def test_a_batch_leaves_the_folder_sync_to_its_caller(user_store: MaildirStore) -> None:
    """``unsynced``: each copy's file is whole and visible, and the folder that got its
    name is handed back (once per copy) for one fsync per batch."""
    unsynced: list[Path] = []
    first = user_store.deliver(USER, RAW, key="k1", unsynced=unsynced)
    second = user_store.deliver(USER, RAW + b"x", key="k2", unsynced=unsynced)
    new = user_store.user_dir(USER) / "new"
    assert unsynced == [new, new]
    assert (new / first.filename).read_bytes() == RAW
    assert (new / second.filename).read_bytes() == RAW + b"x"
    assert not list((user_store.user_dir(USER) / "tmp").iterdir())
    assert sync_folders(unsynced) == {}


def test_a_folder_that_cannot_be_synced_is_reported(tmp_path: Path) -> None:
    gone = tmp_path / "gone"
    failed = sync_folders([tmp_path, gone, gone])
    assert list(failed) == [gone] and isinstance(failed[gone], FileNotFoundError)


def test_unique_names_for_many_deliveries(user_store: MaildirStore) -> None:
    keys = {user_store.deliver(USER, RAW).key for _ in range(200)}
    assert len(keys) == 200


def test_python_mailbox_reads_what_we_write(user_store: MaildirStore) -> None:
    stored = user_store.deliver(USER, RAW)
    flagged = user_store.deliver(USER, RAW, mailbox="Sent", flags="SR")
    box = mailbox.Maildir(user_store.user_dir(USER), create=False)
    assert list(box.keys()) == [stored.key]
    assert box.get_bytes(stored.key).replace(b"\n", b"\r\n").replace(b"\r\r", b"\r") == RAW
    sent = box.get_folder("Sent")
    assert sent.get_message(flagged.key).get_flags() == "RS"
    assert sorted(box.list_folders()) == ["Archive", "Drafts", "Junk", "Sent", "Trash"]


def test_we_read_what_python_mailbox_writes(user_store: MaildirStore) -> None:
    box = mailbox.Maildir(user_store.user_dir(USER), create=False)
    msg = mailbox.MaildirMessage(b"Subject: written by python\n\nbody\n")
    msg.set_flags("FS")
    msg.set_subdir("cur")
    key = box.add(msg)
    box.add_folder("Projects")
    listed = user_store.list_messages(USER)
    assert [(m.key, m.flags) for m in listed] == [(key, "FS")]
    assert b"written by python" in user_store.read(USER, "INBOX", key)
    assert "Projects" in user_store.list_folders(USER)


def test_flags_move_and_expunge(user_store: MaildirStore) -> None:
    first = user_store.deliver(USER, RAW)
    second = user_store.deliver(USER, RAW)
    seen = user_store.set_flags(USER, "INBOX", first.key, "SFX")  # unknown letters dropped
    assert seen.subdir == "cur" and seen.flags == "FS"
    assert seen.filename == f"{first.key}:2,FS"
    moved = user_store.move(USER, first.key, "INBOX", "Archive")
    assert moved.flags == "FS"
    assert [m.key for m in user_store.list_messages(USER, "Archive")] == [first.key]
    user_store.set_flags(USER, "INBOX", second.key, "T")
    assert user_store.expunge(USER) == [second.key]
    assert user_store.list_messages(USER) == []


def test_split_filename() -> None:
    assert split_filename("123.M1P2.host,S=5:2,RS") == ("123.M1P2.host,S=5", "RS")
    assert split_filename("123.M1P2.host") == ("123.M1P2.host", "")


def test_keyed_delivery_is_idempotent(user_store: MaildirStore) -> None:
    name = stable_name(1700000000.25, "QID123R0", "mx.example.test")
    first = user_store.deliver(USER, RAW, key=name)
    again = user_store.deliver(USER, RAW, key=name)
    assert first.key == again.key
    user_store.set_flags(USER, "INBOX", first.key, "S")  # a client read it: now in cur/
    third = user_store.deliver(USER, RAW, key=name, check_existing=True)
    assert third.subdir == "cur"
    assert len(user_store.list_messages(USER)) == 1


@pytest.mark.parametrize(
    "name",
    [
        "../x",
        "..",
        "/etc",
        "/",
        "a/../../b",
        "a\x00b",
        "Sent/",
        "a//b",
        "a/./b",
        "tab\tname",
        "*",
        "",
    ],
)
def test_mailbox_names_cannot_leave_the_user_dir(user_store: MaildirStore, name: str) -> None:
    with pytest.raises(InvalidMailboxName):
        user_store.create_folder(USER, name)
    with pytest.raises(InvalidMailboxName):
        user_store.folder_path(USER, name)


def test_nested_and_inbox_names() -> None:
    assert normalize_mailbox_name("inbox") == "INBOX"
    assert folder_dirname("INBOX") == ""
    assert folder_dirname("Archive/2024") == ".Archive.2024"
    assert normalize_mailbox_name("Inbox/Sub") == "INBOX/Sub"


def test_user_addresses_cannot_traverse(tmp_path: Path) -> None:
    store = MaildirStore(tmp_path)
    for bad in ("../../etc@example.test", "a/b@example.test", "x@../etc", "x\x00@a.test", "x@"):
        with pytest.raises(InvalidAddress):
            store.user_dir(bad)


def test_folder_lifecycle_errors(user_store: MaildirStore) -> None:
    assert user_store.create_folder(USER, "Projects/2026") == "Projects/2026"
    with pytest.raises(MailboxExists):
        user_store.create_folder(USER, "Projects/2026")
    with pytest.raises(MailboxExists):
        user_store.create_folder(USER, "inbox")
    with pytest.raises(MailboxNotFound):
        user_store.list_messages(USER, "Nope")


def test_index_keeps_uids_stable(user_store: MaildirStore) -> None:
    for _ in range(3):
        user_store.deliver(USER, RAW)
    index = MailIndex(user_store, USER)
    state = index.sync("INBOX")
    assert [m.uid for m in state.messages] == [1, 2, 3] and state.uidnext == 4
    user_store.delete(USER, "INBOX", state.messages[1].key)
    user_store.set_flags(USER, "INBOX", state.messages[0].key, "S")
    user_store.deliver(USER, RAW)
    index.close()
    later = MailIndex(user_store, USER).sync("INBOX")
    assert later.uidvalidity == state.uidvalidity
    assert [(m.uid, m.flags) for m in later.messages] == [(1, "S"), (3, ""), (4, "")]
    assert later.highestmodseq > state.highestmodseq


# -- file name hints and header reads ---------------------------------------------------


def forbid_scans(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make find() fail and record every directory listing; returns the listed paths."""

    def no_find(folder: Path, key: str) -> None:
        raise AssertionError(f"find() scanned {folder} for {key}")

    listed: list[str] = []
    real_scandir = os.scandir

    def recording_scandir(path):  # type: ignore[no-untyped-def]
        listed.append(os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(MaildirStore, "find", staticmethod(no_find))
    monkeypatch.setattr(os, "scandir", recording_scandir)
    return listed


def test_hint_is_used_without_a_scan(
    user_store: MaildirStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh = user_store.deliver(USER, RAW)
    seen = user_store.set_flags(USER, "INBOX", user_store.deliver(USER, RAW).key, "S")
    listed = forbid_scans(monkeypatch)
    assert user_store.read(USER, "INBOX", fresh.key, filename=fresh.filename) == RAW
    assert user_store.read(USER, "INBOX", seen.key, filename=seen.filename) == RAW
    assert user_store.read_head(USER, "INBOX", seen.key, limit=4, filename=seen.filename) == b"From"
    assert user_store.get(USER, "INBOX", seen.key, filename=seen.filename) == seen
    flagged = user_store.set_flags(USER, "INBOX", fresh.key, "SF", filename=fresh.filename)
    assert flagged.filename == f"{fresh.key}:2,FS" and flagged.subdir == "cur"
    again = user_store.set_flags(USER, "INBOX", fresh.key, "FS", filename=flagged.filename)
    assert again.filename == flagged.filename
    moved = user_store.move(USER, seen.key, "INBOX", "Archive", filename=seen.filename)
    assert moved.filename == seen.filename
    user_store.delete(USER, "Archive", moved.key, filename=moved.filename)
    assert listed == []
    monkeypatch.undo()
    assert [m.filename for m in user_store.list_messages(USER)] == [flagged.filename]
    assert user_store.list_messages(USER, "Archive") == []


def test_stale_hint_falls_back_to_the_scan(user_store: MaildirStore) -> None:
    stored = user_store.deliver(USER, RAW)
    stale = stored.filename  # in new/
    renamed = user_store.set_flags(USER, "INBOX", stored.key, "S")  # by "someone else"
    assert user_store.read(USER, "INBOX", stored.key, filename=stale) == RAW
    assert user_store.read_head(USER, "INBOX", stored.key, filename=stale) == RAW
    assert user_store.get(USER, "INBOX", stored.key, filename=stale) == renamed
    flagged = user_store.set_flags(USER, "INBOX", stored.key, "RS", filename=stale)
    assert flagged.filename == f"{stored.key}:2,RS"
    assert user_store.read(USER, "INBOX", stored.key, filename=renamed.filename) == RAW
    user_store.delete(USER, "INBOX", stored.key, filename=stale)
    assert user_store.list_messages(USER) == []
    with pytest.raises(MessageNotFound):
        user_store.read(USER, "INBOX", stored.key, filename=stale)
    with pytest.raises(MessageNotFound):
        user_store.set_flags(USER, "INBOX", stored.key, "S", filename=flagged.filename)


def test_stale_hint_after_python_mailbox_changes_flags(user_store: MaildirStore) -> None:
    stored = user_store.deliver(USER, RAW)
    box = mailbox.Maildir(user_store.user_dir(USER), create=False)
    msg = box.get_message(stored.key)
    msg.set_subdir("cur")
    msg.set_flags("RS")
    box[stored.key] = msg  # rewrites the file as cur/<key>:2,RS
    assert user_store.get(USER, "INBOX", stored.key, filename=stored.filename).flags == "RS"
    assert b"hello" in user_store.read(USER, "INBOX", stored.key, filename=stored.filename)


@pytest.mark.parametrize(
    "hint",
    [
        "../../../../etc/passwd",
        "cur/{key}",
        ".{key}",
        "{key}\0",
        "{key}x",
        "{other}",
        "{other}:2,S",
        "",
    ],
)
def test_bad_hints_are_refused(user_store: MaildirStore, hint: str) -> None:
    stored = user_store.deliver(USER, RAW)
    other = user_store.deliver(USER, b"Subject: other\r\n\r\nnot yours\r\n")
    bad = hint.format(key=stored.key, other=other.key)
    with pytest.raises(ValueError):
        user_store.read(USER, "INBOX", stored.key, filename=bad)
    with pytest.raises(ValueError):
        user_store.read_head(USER, "INBOX", stored.key, filename=bad)
    with pytest.raises(ValueError):
        user_store.set_flags(USER, "INBOX", stored.key, "S", filename=bad)
    with pytest.raises(ValueError):
        user_store.get(USER, "INBOX", stored.key, filename=bad)
    with pytest.raises(ValueError):
        user_store.delete(USER, "INBOX", stored.key, filename=bad)
    assert len(user_store.list_messages(USER)) == 2


@pytest.mark.parametrize("key", ["../new/x", ".hidden", "x\0", ""])
def test_invalid_keys_are_not_found_even_with_a_matching_hint(
    user_store: MaildirStore, key: str
) -> None:
    user_store.deliver(USER, RAW)
    with pytest.raises(MessageNotFound):
        user_store.read(USER, "INBOX", key, filename=key)
    with pytest.raises(MessageNotFound):
        user_store.set_flags(USER, "INBOX", key, "S", filename=key)


def test_reading_thousands_of_messages_by_hint_never_scans(
    user_store: MaildirStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = user_store.user_dir(USER)
    expected = {}
    for n in range(3000):
        data = f"Subject: {n}\r\n\r\nbody {n}\r\n".encode()
        base = f"{1_700_000_000 + n}.M{n}P1Q{n}.host,S={len(data)}"
        name = base if n % 3 == 0 else f"{base}:2,S"
        (root / ("new" if n % 3 == 0 else "cur") / name).write_bytes(data)
        expected[base] = data
    index = MailIndex(user_store, USER)
    messages = index.sync("INBOX").messages
    index.close()
    assert len(messages) == 3000
    listed = forbid_scans(monkeypatch)
    for message in messages:
        data = user_store.read(USER, "INBOX", message.key, filename=message.filename)
        assert data == expected[message.key]
    for message in messages[:300]:
        flags = user_store.set_flags(USER, "INBOX", message.key, "RS", filename=message.filename)
        assert flags.filename == f"{message.key}:2,RS"
    assert listed == []


def test_read_head_returns_at_most_limit_bytes(user_store: MaildirStore) -> None:
    big = b"Subject: big\r\n\r\n" + os.urandom(1024 * 1024)
    stored = user_store.deliver(USER, big)
    head = user_store.read_head(USER, "INBOX", stored.key)
    assert head == big[:65536]
    assert user_store.read_head(USER, "INBOX", stored.key, limit=10) == big[:10]
    assert user_store.read_head(USER, "INBOX", stored.key, limit=0) == b""
    assert user_store.read_head(USER, "INBOX", stored.key, limit=2 * len(big)) == big
    small = user_store.deliver(USER, RAW)
    assert user_store.read_head(USER, "INBOX", small.key) == RAW
    with pytest.raises(ValueError):
        user_store.read_head(USER, "INBOX", small.key, limit=-1)
    with pytest.raises(MessageNotFound):
        user_store.read_head(USER, "INBOX", "1.M1P1.nowhere")
