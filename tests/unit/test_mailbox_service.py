"""The mailbox service alone (no sockets): each change keeps Maildir, index and events in step."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mailrs.config import Settings, StorageSettings
from mailrs.errors import MailboxExists, MessageNotFound
from mailrs.store import events
from mailrs.store.events import (
    Expunged,
    FlagsChanged,
    MailboxChanged,
    MailboxEvent,
    NewMail,
    event_from_json,
)
from mailrs.store.flags import merge_keywords, merge_letters
from mailrs.store.fulltext import Content
from mailrs.store.mailbox import FlagUpdate, MailboxService, MessageRef
from mailrs.store.maildir import MaildirStore

ALICE = "alice@example.test"


def raw(subject: str, body: str = "hello") -> bytes:
    return f"From: bob@example.test\r\nSubject: {subject}\r\n\r\n{body}\r\n".encode()


def parse(data: bytes) -> Content:
    """A plain parser for the full-text index: Subject header, the header block and the body."""
    head, _, body = data.partition(b"\r\n\r\n")
    text = head.decode()
    subject = next((line[9:] for line in text.split("\r\n") if line.startswith("Subject: ")), "")
    return Content(None, "", "", "", "", subject, text, body.decode())


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        storage=StorageSettings(data_dir=str(tmp_path), maildir_path=str(tmp_path / "maildir"))
    )


@pytest.fixture
def store(settings: Settings) -> MaildirStore:
    store = MaildirStore(settings.maildir_path)
    store.create_user(ALICE)
    return store


@pytest.fixture
def mailbox(store: MaildirStore, settings: Settings) -> Iterator[MailboxService]:
    service = MailboxService(store, ALICE, settings, source="test", content_parser=parse)
    yield service
    service.close()


@pytest.fixture
def feed(settings: Settings) -> Iterator[events.Subscription]:
    with events.subscribe(settings, ALICE) as subscription:
        yield subscription


def drain(feed: events.Subscription) -> list[MailboxEvent]:
    got = []
    while (event := feed.get_event(0.2)) is not None:
        got.append(event)
    return got


def test_flag_algebra() -> None:
    assert merge_letters("+", "S", "FS") == "FS"
    assert merge_letters("-", "FS", "S") == "F"
    assert merge_letters("", "PS", "F") == "FP"  # replace keeps P (passed)
    assert merge_keywords("+", "$Work", "$work Later") == "$Work Later"
    assert merge_keywords("-", "$Work Later", "$WORK") == "Later"
    assert merge_keywords("", "$Work", "Other") == "Other"


def test_append_indexes_at_once_and_announces_the_uid(
    mailbox: MailboxService, feed: events.Subscription
) -> None:
    first = mailbox.append("INBOX", raw("one"), letters="S", keywords="$Work")
    second = mailbox.append("inbox", raw("two"))
    assert (first.uid, second.uid) == (1, 2)
    assert mailbox.read_uid("INBOX", 1) == raw("one")
    message = mailbox.message("INBOX", 1)
    assert (message.flags, message.keywords) == ("S", "$Work")
    assert mailbox.summary("INBOX", message).subject == "one"
    got = drain(feed)
    assert [(type(e), e.folder, e.uids, e.source, e.user) for e in got] == [  # type: ignore[attr-defined]
        (NewMail, "INBOX", (1,), "test", ALICE),
        (NewMail, "INBOX", (2,), "test", ALICE),
    ]
    assert mailbox.total_size() == len(raw("one")) + len(raw("two"))


def test_set_flags_writes_file_index_and_modseq_once(
    mailbox: MailboxService, store: MaildirStore, feed: events.Subscription
) -> None:
    uid = mailbox.append("INBOX", raw("flags")).uid
    before = mailbox.status("INBOX").highestmodseq
    drain(feed)
    stored = mailbox.set_flags("INBOX", uid, add="FS")
    assert stored.letters == "FS" and stored.modseq == before + 1
    (on_disk,) = store.list_messages(ALICE)
    assert on_disk.flags == "FS" and on_disk.filename == stored.filename
    assert mailbox.status("INBOX").highestmodseq == stored.modseq
    assert drain(feed) == [FlagsChanged(folder="INBOX", uids=(uid,), modseq=stored.modseq,
                                        source="test", user=ALICE)]  # fmt: skip
    again = mailbox.set_flags("INBOX", uid, add="S")  # nothing to change: nothing written
    assert again.modseq is None and drain(feed) == []
    both = mailbox.set_flags("INBOX", uid, add="R", remove="S")  # one change, one modseq
    assert both.letters == "FR" and both.modseq == stored.modseq + 1
    with pytest.raises(MessageNotFound):
        mailbox.set_flags("INBOX", 99, add="S")


def test_a_flag_change_merges_with_what_another_writer_did_meanwhile(
    mailbox: MailboxService, store: MaildirStore
) -> None:
    appended = mailbox.append("INBOX", raw("race"))
    message = mailbox.message("INBOX", appended.uid)
    store.set_flags(ALICE, "INBOX", message.key, "F")  # another process renames the file
    stale = MessageRef.of(message)  # still names the old file
    (stored,) = mailbox.store_flags("INBOX", [FlagUpdate(stale, "+", "S", "$Later")])
    assert stored.letters == "FS" and stored.keywords == "$Later"
    (after,) = mailbox.store_flags("INBOX", [FlagUpdate(stale, "-", "", "$later")])
    assert after.letters == "FS" and after.keywords == ""
    assert mailbox.sync("INBOX").messages[0].flags == "FS"


def test_copy_move_and_expunge(mailbox: MailboxService, feed: events.Subscription) -> None:
    uids = [mailbox.append("INBOX", raw(f"m{n}"), letters="S", keywords="$K").uid for n in (1, 2)]
    drain(feed)
    copied = mailbox.copy("INBOX", [MessageRef.of(m) for m in mailbox.messages("INBOX")], "Archive")
    assert [old for old, _ in copied.pairs] == uids
    archived = mailbox.messages("Archive")
    assert [(m.flags, m.keywords) for m in archived] == [("S", "$K"), ("S", "$K")]
    moved = mailbox.move("INBOX", [uids[0]], "Trash")
    assert moved.pairs == [(uids[0], 1)]
    assert [m.uid for m in mailbox.messages("INBOX")] == [uids[1]]
    assert mailbox.read_uid("Trash", 1) == raw("m1")
    got = drain(feed)
    expunged = [e for e in got if isinstance(e, Expunged)]
    assert [(e.folder, e.uids) for e in expunged] == [("INBOX", (uids[0],))]
    assert expunged[0].modseq == mailbox.status("INBOX").highestmodseq
    assert [(e.folder, e.uids) for e in got if isinstance(e, NewMail)] == [
        ("Archive", (1, 2)),
        ("Trash", (1,)),
    ]
    to_self = mailbox.move("INBOX", [uids[1]], "INBOX")  # RFC 6851: a new UID
    assert to_self.pairs == [(uids[1], uids[1] + 1)]
    assert mailbox.expunge_uids("Archive", [1]) == [1]
    assert [m.uid for m in mailbox.messages("Archive")] == [2]
    assert mailbox.expunge_uids("Archive", [1]) == []


def test_folders_create_rename_delete_and_subscriptions(
    mailbox: MailboxService, feed: events.Subscription
) -> None:
    assert mailbox.create_folder("Work/2026/Q1") == "Work/2026/Q1"
    assert {"Work", "Work/2026", "Work/2026/Q1"} <= set(mailbox.list_folders())
    with pytest.raises(MailboxExists):
        mailbox.create_folder("Work")
    mailbox.append("Work/2026", raw("filed"))
    mailbox.subscribe("Work/2026")
    assert mailbox.rename_folder("Work", "Jobs") == "Jobs"
    assert not mailbox.exists("Work/2026") and mailbox.exists("Jobs/2026/Q1")
    assert mailbox.subscriptions() == ["Jobs/2026"]
    assert [m.uid for m in mailbox.messages("Jobs/2026")] == [1]
    mailbox.delete_folder("Jobs/2026/Q1")
    assert not mailbox.exists("Jobs/2026/Q1")
    changes = [(e.change, e.folder) for e in drain(feed) if isinstance(e, MailboxChanged)]
    assert changes == [
        ("created", "Work/2026/Q1"),
        ("renamed", "Jobs"),
        ("deleted", "Jobs/2026/Q1"),
    ]


def test_renaming_inbox_moves_its_messages(mailbox: MailboxService) -> None:
    mailbox.append("INBOX", raw("old"))
    mailbox.rename_folder("INBOX", "Old")
    assert mailbox.messages("INBOX") == []
    assert [mailbox.read_uid("Old", m.uid) for m in mailbox.messages("Old")] == [raw("old")]


def test_delivery_is_exactly_once_and_recent_goes_to_one_session(
    mailbox: MailboxService, store: MaildirStore
) -> None:
    first = mailbox.deliver(raw("delivered"), "INBOX", key="1700000000.M1XQ1D1.host", mtime=1.7e9)
    again = mailbox.deliver(raw("delivered"), "INBOX", key="1700000000.M1XQ1D1.host", mtime=1.7e9)
    assert first.filename == again.filename and len(store.list_messages(ALICE)) == 1
    examined = mailbox.select("INBOX", claim_recent=False)
    assert examined.recent == frozenset({1})
    selected = mailbox.select("INBOX", claim_recent=True)
    assert selected.recent == frozenset({1})
    assert selected.state.messages[0].filename.endswith(":2,")  # new/ -> cur/
    assert mailbox.select("INBOX", claim_recent=True).recent == frozenset()
    mailbox.store_flags("INBOX", [FlagUpdate(MessageRef.of(selected.state.messages[0]), "+", "S")])
    # a flagged copy is found in cur/ on a re-run (check_existing)
    rerun = mailbox.deliver(
        raw("delivered"), "INBOX", key="1700000000.M1XQ1D1.host", check_existing=True
    )
    assert rerun.flags == "S" and len(store.list_messages(ALICE)) == 1


def test_delivery_recreates_a_vanished_maildir(store: MaildirStore, settings: Settings) -> None:
    service = MailboxService(store, "new@example.test", settings)
    stored = service.deliver(raw("first"), "Junk", key="1700000000.M1XQ2D1.host")
    assert stored.subdir == "new" and store.list_messages("new@example.test", "Junk")
    service.close()


def test_search_through_the_full_text_index(store: MaildirStore, mailbox: MailboxService) -> None:
    for subject, body in (("Lunch", "friday at noon"), ("Report", "numbers for Q3")):
        mailbox.append("INBOX", raw(subject, body))
    refs = [MessageRef.of(m) for m in mailbox.messages("INBOX")]
    mailbox.ensure_content("INBOX", refs)
    assert mailbox.search_text("INBOX", "body", "NOON") == {1}
    assert mailbox.search_text("INBOX", "subject", "rep") == {2}
    assert mailbox.search_text("INBOX", "body", "Q3") == {2}  # short: a substring scan
    assert "Subject: Lunch" in mailbox.header_text("INBOX")[1]
    with pytest.raises(ValueError):
        mailbox.search_text("INBOX", "nonsense", "x")
    bare = MailboxService(store, ALICE)
    with pytest.raises(RuntimeError):
        bare.ensure_content("INBOX", refs)
    bare.close()


def test_events_round_trip_as_json() -> None:
    samples: list[MailboxEvent] = [
        NewMail(folder="INBOX", uids=(3,), subject="Hi", sender="a@b.test", source="deliver"),
        FlagsChanged(folder="INBOX", uids=(1, 2), modseq=9, source="web", user=ALICE),
        Expunged(folder="Trash", uids=(4,), modseq=12, source="imap"),
        MailboxChanged(folder="Jobs", change="renamed", old_name="Work"),
    ]
    for event in samples:
        assert event_from_json(event.to_json()) == event
    assert event_from_json({"kind": "new_mail", "folder": "INBOX", "from": "x@y.test"}) == NewMail(
        folder="INBOX", sender="x@y.test"
    )
    assert event_from_json({"kind": "nonsense", "folder": "INBOX"}) is None
    assert event_from_json({"kind": "flags", "folder": "INBOX", "uids": ["x"]}) is None
    assert event_from_json({"kind": "flags", "folder": ["INBOX"]}) is None


def test_a_huge_uid_list_is_dropped_not_the_event(settings: Settings) -> None:
    with events.subscribe(settings, ALICE) as feed:
        events.publish_event(settings, ALICE, Expunged(folder="INBOX", uids=tuple(range(5000))))
        got = feed.get_event(2)
    assert got == Expunged(folder="INBOX", uids=(), user=ALICE)
