"""The folder watch (inotify): the index learns each change from the files that changed.

Every change made under the index's feet (deliveries, renames, removals, a folder
renamed and recreated, a queue overflow) must show in the next sync exactly as a full
scan would show it; an unchanged folder costs no listing at all.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.filled_index import filled_index
from support.imap import ALICE, sample_message

from mailrs.store import folder_watch, scan
from mailrs.store.index import MailIndex
from mailrs.store.mailbox import MailboxService
from mailrs.store.maildir import MaildirStore
from mailrs.store.records import FlagUpdate, MessageRef


@pytest.fixture
def watch() -> Iterator[folder_watch.FolderWatch]:
    enabled = folder_watch.enable()
    if enabled is None:
        pytest.skip("no inotify on this system")
    yield enabled
    folder_watch.disable()


def _view(index: MailIndex) -> list[tuple[int, str, str]]:
    return [(m.uid, m.key, m.flags) for m in index.sync("INBOX").messages]


def _listings(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Record every full listing of a folder the index makes from now on."""
    seen: list[Path] = []
    real = scan.scan_folder

    def counting(folder: Path, known: dict[str, str], skip_cur: bool) -> object:
        seen.append(folder)
        return real(folder, known, skip_cur)

    monkeypatch.setattr("mailrs.store.index.scan_folder", counting)
    return seen


def test_outside_changes_show_in_the_next_sync_without_a_listing(
    store: MaildirStore, watch: folder_watch.FolderWatch, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = filled_index(store, 3)
    _view(index)  # the first look under the watch compares the whole folder
    listings = _listings(monkeypatch)
    folder = store.folder_path(ALICE, "INBOX")
    first, second, third = index.sync("INBOX").messages
    # another program: marks one read (new/ -> cur/ with S), deletes one, delivers one
    os.rename(folder / first.relpath, folder / "cur" / f"{first.key}:2,S")
    os.unlink(folder / second.relpath)
    store.deliver(ALICE, sample_message("late"), mtime=1_800_000_000)
    after = _view(index)
    assert [(uid, flags) for uid, _, flags in after] == [(1, "S"), (3, ""), (4, "")]
    assert index.vanished_since("INBOX", 0) == [2]
    assert listings == []
    # the same as a full comparison finds
    assert _view(index) == [(m.uid, m.key, m.flags) for m in index.sync("INBOX", True).messages]
    assert third.uid == 3


def test_changes_through_the_service_need_no_index_write(
    store: MaildirStore, watch: folder_watch.FolderWatch, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = filled_index(store, 2)
    other = MailboxService(store, ALICE)
    _view(index)
    listings = _listings(monkeypatch)
    message = index.sync("INBOX").messages[0]
    stored = other.store_flags("INBOX", [FlagUpdate(MessageRef.of(message), "+", "F")])
    appended = other.append("INBOX", sample_message("appended"), "S")
    modseq = index.state("INBOX").highestmodseq
    view = _view(index)
    assert (view[0][0], view[0][2]) == (1, "F")
    assert (view[-1][0], view[-1][2]) == (appended.uid, "S")
    assert index.state("INBOX").highestmodseq == modseq == stored[0].modseq + 1
    assert listings == []
    other.close()


def test_a_renamed_and_recreated_folder_is_scanned_again(
    store: MaildirStore, watch: folder_watch.FolderWatch, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.create_user(ALICE)
    service = MailboxService(store, ALICE)
    service.create_folder("Work")
    service.append("Work", sample_message("w1"))
    assert [m.uid for m in service.sync("Work").messages] == [1]
    service.rename_folder("Work", "Old Work")
    service.create_folder("Work")
    listings = _listings(monkeypatch)
    assert service.sync("Work").messages == []  # not the renamed folder's files
    assert listings == [store.folder_path(ALICE, "Work")]
    assert len(service.sync("Old Work").messages) == 1
    service.close()


def test_a_lost_event_queue_means_a_full_scan(
    store: MaildirStore, watch: folder_watch.FolderWatch, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = filled_index(store, 1)
    _view(index)
    folder = store.folder_path(ALICE, "INBOX")
    watch._folders[str(folder)].lost = True  # what a queue overflow (IN_Q_OVERFLOW) sets
    store.deliver(ALICE, sample_message("after"), mtime=1_800_000_000)
    listings = _listings(monkeypatch)
    assert [uid for uid, _, _ in _view(index)] == [1, 2]
    assert listings == [folder]
    assert [uid for uid, _, _ in _view(index)] == [1, 2]
    assert listings == [folder]  # and the next sync is back to the events


def test_a_failed_apply_asks_for_a_full_scan(
    store: MaildirStore, watch: folder_watch.FolderWatch
) -> None:
    index = filled_index(store, 1)
    _view(index)
    folder = store.folder_path(ALICE, "INBOX")
    with pytest.raises(RuntimeError), watch.consume(folder) as changes:
        assert changes is not None and not changes.full
        raise RuntimeError("the index could not be written")
    with watch.consume(folder) as changes:
        assert changes is not None and changes.full


def test_settled_sees_a_rename_queued_after_the_consume(
    store: MaildirStore, watch: folder_watch.FolderWatch
) -> None:
    index = filled_index(store, 1)
    _view(index)
    folder = store.folder_path(ALICE, "INBOX")
    message = index.sync("INBOX").messages[0]
    assert watch.settled(folder, {message.key})
    os.rename(folder / message.relpath, folder / "cur" / f"{message.key}:2,S")
    assert not watch.settled(folder, {message.key})
    assert watch.settled(folder, {"some-other-key"})


def test_the_least_recently_used_folders_stop_being_watched(
    store: MaildirStore, watch: folder_watch.FolderWatch, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(folder_watch, "MAX_FOLDERS", 2)
    store.create_user(ALICE)
    service = MailboxService(store, ALICE)
    for name in ("A", "B", "C"):
        service.create_folder(name)
        service.sync(name)
    watched = {Path(key).name for key in watch._folders}
    assert watched == {".B", ".C"}
    assert len(watch._by_wd) == 4
    service.append("A", sample_message("while unwatched"))
    assert [m.uid for m in service.sync("A").messages] == [1]  # watched anew, compared whole
    assert {Path(key).name for key in watch._folders} == {".C", ".A"}
    service.close()
