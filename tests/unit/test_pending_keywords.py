"""Keywords a Sieve script sets at delivery reach the index (and so IMAP FETCH FLAGS)."""

from __future__ import annotations

from mailrs.config import Settings
from mailrs.store.mailbox import MailboxService
from mailrs.store.maildir import MaildirStore
from mailrs.store.pending_keywords import DIRNAME, clean_keywords, set_pending
from workers.sieve_filter import Plan, Store, write_plan

USER = "bob@example.test"
MAIL = b"From: a@remote.test\r\nSubject: report\r\n\r\nhi\r\n"


def test_clean_keywords_keeps_imap_atoms_only() -> None:
    given = ["$Report", "\\Seen", "Work", "bad word", "a(b", "$Report", "x" * 200]
    assert clean_keywords(given) == "$Report Work"


def test_delivered_copies_carry_their_keywords_into_the_index(settings: Settings) -> None:
    store = MaildirStore(settings.maildir_path)
    store.create_user(USER)
    plan = Plan((Store("INBOX", "S", keywords="$Report Work"), Store("Archive", create=True)))
    with MailboxService(store, USER) as box:
        write_plan(box, plan, MAIL, "Q1", 1_700_000_000.0, retry=False)
        (first,) = box.messages("INBOX")
        assert set(first.keywords.split()) == {"$Report", "Work"} and "S" in first.flags
        (second,) = box.messages("Archive")
        assert second.keywords == ""  # each copy has its own flags
    assert not any((store.user_dir(USER) / DIRNAME).iterdir())  # taken once indexed


def test_pending_keywords_of_another_message_are_left_alone(settings: Settings) -> None:
    store = MaildirStore(settings.maildir_path)
    store.create_user(USER)
    set_pending(store.user_dir(USER), "not-yet", "$Later")
    with MailboxService(store, USER) as box:
        box.deliver(MAIL, "INBOX", key="Q2")
        (message,) = box.messages("INBOX")
        assert message.keywords == ""
    assert (store.user_dir(USER) / DIRNAME / "not-yet").read_text() == "$Later"
