"""The assistant's finder looks topics up in the full-text index IMAP SEARCH uses: any
spelling of a word (accents, plural, its French/English synonym) finds the message, a
substring inside another word does not, and the index holds the messages afterwards."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.web import ALICE, html_message, raw_message

from mailrs.accounts.users import add_user
from mailrs.config import Settings
from mailrs.db.engine import Database
from mailrs.store.maildir import MaildirStore
from web.assistant.finder import Criteria, Finder, readable
from web.mailservice.mailbox import UserMailbox

MESSAGES = (
    ("Jeudi", "La réunion de jeudi est déplacée à 15h."),
    ("Ops", "Please restart the server tonight."),
    ("Billing", "Your invoices for November are attached."),
)


@pytest.fixture
def finder(settings: Settings, database: Database, store: MaildirStore) -> Iterator[Finder]:
    """A finder on Alice's mailbox with three plain messages."""
    with database.session() as session:
        add_user(session, store, ALICE, "alice password 1")
    for day, (subject, body) in enumerate(MESSAGES, 1):
        store.deliver(ALICE, raw_message(subject, body=body, day=day), mtime=1e9 + day)
    with UserMailbox(store, ALICE, settings) as mailbox:
        yield Finder(mailbox)


def subjects(finder: Finder, *topics: str) -> list[str]:
    """Subjects of the messages found for these topic words."""
    return [f.summary.subject for f in finder.find(Criteria(topics=topics))]


@pytest.mark.parametrize("topic", ["reunion", "meeting", "deplace"])
def test_any_spelling_finds_the_accented_word(finder: Finder, topic: str) -> None:
    assert subjects(finder, topic) == ["Jeudi"]


@pytest.mark.parametrize("topic", ["invoice", "facture"])
def test_singular_and_french_find_the_plural(finder: Finder, topic: str) -> None:
    assert subjects(finder, topic) == ["Billing"]


def test_a_substring_inside_a_word_is_no_match(finder: Finder) -> None:
    assert subjects(finder, "art") == []
    assert subjects(finder, "restart", "server") == ["Ops"]


def test_topics_are_looked_up_in_the_index(finder: Finder) -> None:
    service = finder.mailbox.service
    assert service.search_text("INBOX", "body", "réunion") == set()  # nothing parsed yet
    assert subjects(finder, "reunion") == ["Jeudi"]
    uids = service.search_text("INBOX", "body", "réunion")
    assert len(uids) == 1
    assert finder.topic_uids("INBOX", ("reunion",)) == uids


def test_facts_come_from_the_index_with_attachments_and_the_plain_text(
    settings: Settings, store: MaildirStore
) -> None:
    """A multipart message's facts: the plain part as its text (not the HTML alternative),
    its PDF as an attachment with name, type and decoded size, its sender and date."""
    pdf = b"%PDF-1.4 " * 300
    data = html_message("Report", "<html><body><p>HTML <b>copy</b></p></body></html>", pdf)
    with UserMailbox(store, ALICE, settings) as mailbox:
        mailbox.append("INBOX", data)
        (facts,) = Finder(mailbox).facts("INBOX")
    assert facts.body.strip() == "Plain fallback text."
    assert [(a.filename, a.content_type, a.size) for a in facts.attachments] == [
        ("report.pdf", "application/pdf", len(pdf))
    ]
    assert facts.summary.sender_name == "Mallory"
    assert facts.summary.date.isoformat() == "2025-12-02T09:00:00+00:00"
    assert facts.summary.unread


def test_html_only_text_is_read_without_tags() -> None:
    """When a message has only HTML, its text is the HTML without tags."""
    assert readable("<html><body><p>Hello <b>there</b></p></body></html>") == "Hello there"
    assert readable("Plain.\n<html><p>Plain.</p></html>") == "Plain."
