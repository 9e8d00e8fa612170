"""The index's record of expunged UIDs (QRESYNC, RFC 7162): kept, moved and dropped."""

from __future__ import annotations

import sqlite3

from support.filled_index import filled_index
from support.imap import ALICE

from mailrs.store.index import MailIndex
from mailrs.store.maildir import MaildirStore


def test_expunges_are_recorded_with_their_modseq(store: MaildirStore) -> None:
    index = filled_index(store, 4)
    before = index.state("INBOX").highestmodseq
    assert index.vanished_since("INBOX", before) == []
    first = index.remove("INBOX", [2])
    index.remove("INBOX", [4])
    assert index.vanished_since("INBOX", before) == [2, 4]
    assert index.vanished_since("INBOX", first) == [4]
    assert index.vanished_since("Nowhere", 0) is None


def test_a_file_removed_outside_is_recorded_by_the_scan(store: MaildirStore) -> None:
    index = filled_index(store, 3)
    before = index.state("INBOX").highestmodseq
    victim = next(m for m in index.state("INBOX").messages if m.uid == 2)
    path = store.folder_path(ALICE, "INBOX")
    for sub in ("new", "cur"):
        for file in (path / sub).glob(victim.key + "*"):
            file.unlink()
    after = index.sync("INBOX")
    assert [m.uid for m in after.messages] == [1, 3]
    assert index.vanished_since("INBOX", before) == [2]


def test_rename_moves_the_record_and_delete_drops_it(store: MaildirStore) -> None:
    index = filled_index(store, 3)
    start = index.state("INBOX").highestmodseq
    index.remove("INBOX", [1])
    index.rename("INBOX", "Old")  # INBOX keeps its UIDVALIDITY: its messages vanished there
    assert index.vanished_since("Old", start) == [1]
    assert index.vanished_since("INBOX", start) == [1, 2, 3]
    index.rename("Old", "Older")
    assert index.vanished_since("Older", start) == [1]
    assert index.vanished_since("Old", 0) is None
    index.forget("Older")
    assert index.vanished_since("Older", 0) is None


def test_an_older_index_file_starts_its_record_at_the_upgrade(store: MaildirStore) -> None:
    index = filled_index(store, 2)
    index.remove("INBOX", [1])
    index.close()
    with sqlite3.connect(index.path) as db:  # the file as the release before wrote it
        db.execute("DROP TABLE vanished")
        db.execute("ALTER TABLE mailboxes DROP COLUMN vanished_from")
    upgraded = MailIndex(store, ALICE)
    highest = upgraded.state("INBOX").highestmodseq
    assert upgraded.vanished_since("INBOX", highest - 1) is None  # unknown that far back
    assert upgraded.vanished_since("INBOX", highest) == []
    upgraded.close()


def test_a_delta_names_the_expunged_instead_of_listing_every_uid(store: MaildirStore) -> None:
    index = filled_index(store, 4)
    start = index.state("INBOX").highestmodseq
    index.remove("INBOX", [2])
    modseq, _ = index.set_flags("INBOX", 3, index.state("INBOX").messages[1].filename, "", "$K")
    delta = index.changed_since("INBOX", start)
    assert delta.is_delta and delta.uids is None
    assert delta.vanished == {2}
    assert [(m.uid, m.keywords, m.modseq) for m in delta.messages] == [(3, "$K", modseq)]
    assert index.changed_since("INBOX", modseq).vanished == frozenset()


def test_a_delta_older_than_the_record_lists_every_uid(store: MaildirStore) -> None:
    index = filled_index(store, 3)
    index.remove("INBOX", [1])
    index.close()
    with sqlite3.connect(index.path) as db:  # the record starts later than the caller's look
        db.execute("UPDATE mailboxes SET vanished_from = highestmodseq")
    reopened = MailIndex(store, ALICE)
    delta = reopened.changed_since("INBOX", 1)
    assert delta.vanished is None and delta.uids == [2, 3]
    reopened.close()
