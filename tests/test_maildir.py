"""The Maildir store: atomic delivery, flags, move, expunge, interoperability and traversal."""

from __future__ import annotations

import mailbox
import os
from pathlib import Path

import pytest

from mailrs.errors import InvalidAddress, InvalidMailboxName, MailboxExists, MailboxNotFound
from mailrs.mailbox_names import folder_dirname, normalize_mailbox_name
from mailrs.maildir import MaildirStore, split_filename, stable_name
from mailrs.mailindex import MailIndex

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
        "x.y",
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
