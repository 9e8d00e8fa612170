"""The assistant answers from the mailbox index: once the index holds a message's content
(parsed the first time any search needs it, IMAP's included), a chat request reads no
message to learn senders, dates, flags, sizes or attachments; so the messages it reads do
not grow with the mailbox. Reading or summarising one message reads that message.

The store below counts the messages the Maildir hands out; it is the real store.
"""

from __future__ import annotations

import datetime as dt
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

import pytest
from support.counting_store import CountingStore
from support.web import ALICE

from mailrs.accounts.users import add_user
from mailrs.config import Settings
from mailrs.db.engine import Database
from mailrs.queue.spool import Spool
from mailrs.store import fulltext
from mailrs.store.fulltext import Content
from mailrs.store.maildir import MaildirStore
from web.assistant.actions import Actions
from web.assistant.engine import OfflineEngine
from web.assistant.replies import Conversation
from web.mailservice.mailbox import UserMailbox
from web.mailservice.sending import Outbox

SENDERS = ("Acme Billing <billing@acme.test>", "Bob Martin <bob@example.test>", "Carol <c@x.test>")
REQUESTS = (
    "how many unread emails do I have?",
    "show my unread emails",
    "invoices from Acme with attachments",
    "who wrote to me the most?",
    "any pdfs from Acme?",
    "emails from Bob this month",
    "anything urgent?",
)


def message(number: int) -> bytes:
    """A message of the mailbox: every third an invoice with a PDF, some unread."""
    mail = EmailMessage(policy=SMTP)
    mail["From"] = SENDERS[number % 3]
    mail["To"] = ALICE
    mail["Subject"] = f"Invoice {number}" if number % 3 == 0 else f"Notes {number}"
    when = dt.datetime(2025, 12, 1, 9, tzinfo=dt.UTC) + dt.timedelta(hours=number)
    mail["Date"] = when.strftime("%a, %d %b %Y %H:%M:%S +0000")
    mail.set_content(f"Message number {number}. " + "Some words of text. " * 20)
    if number % 3 == 0:
        mail.add_attachment(
            b"%PDF" * 500, maintype="application", subtype="pdf", filename=f"i{number}.pdf"
        )
    return mail.as_bytes()


def reads_per_request(root: Path, settings: Settings, database: Database, size: int) -> list[int]:
    """Seed ``size`` messages, index them once, then count the reads of each request."""
    store = CountingStore(root)
    with UserMailbox(store, ALICE, settings) as mailbox:
        for number in range(size):
            mailbox.append("INBOX", message(number), flags="" if number % 4 == 0 else "S")
    with UserMailbox(store, ALICE, settings) as mailbox:  # a search parses them once
        OfflineEngine(_actions(mailbox, settings, database)).respond("emails from Bob")
    counts = []
    with UserMailbox(store, ALICE, settings) as mailbox:
        engine = OfflineEngine(_actions(mailbox, settings, database))  # a new chat
        for request in REQUESTS:
            store.reads = 0
            engine.respond(request)
            counts.append(store.reads)
        store.reads = 0
        engine.respond("show my unread emails")
        engine.respond("read the first one")
        counts.append(store.reads)
    return counts


def _actions(mailbox: UserMailbox, settings: Settings, database: Database) -> Actions:
    outbox = Outbox(settings, database, Spool(settings.spool_path))
    return Actions(mailbox, outbox, Conversation(today=dt.date(2025, 12, 20)))


@pytest.mark.timeout(600)
def test_requests_read_no_message_whatever_the_mailbox_size(
    tmp_path: Path, settings: Settings, database: Database
) -> None:
    """Searches, counts, statistics, lists and attachments read nothing; reading one
    message reads a bounded few; the same for 30 messages and for 120."""
    with database.session() as session:
        add_user(session, MaildirStore(tmp_path / "small"), ALICE, "alice password 1")
    small = reads_per_request(tmp_path / "small", settings, database, 30)
    large = reads_per_request(tmp_path / "large", settings, database, 120)
    assert small[:-1] == [0] * len(REQUESTS), small
    assert large == small, (small, large)
    assert 1 <= large[-1] <= 3


def test_content_parsed_before_attachments_were_kept_is_parsed_again(tmp_path: Path) -> None:
    """An index written before the ``parts`` table asks for the message again, once."""
    import sqlite3

    db = sqlite3.connect(tmp_path / "index.db", isolation_level=None)
    db.executescript(fulltext.SCHEMA)
    old = Content(None, "a@x.test", "", "", "", "Report", "Subject: Report", "text")
    fulltext.add_content(db, "INBOX", [(7, old)])
    db.execute("UPDATE content SET parts_known = 0")  # as an upgraded file has it
    assert fulltext.without_content(db, "INBOX", [7]) == [7]
    new = Content(
        None,
        "a@x.test",
        "",
        "",
        "",
        "Report",
        "Subject: Report",
        "text",
        attachments=(("r.pdf", "application/pdf", 1200),),
    )
    fulltext.add_content(db, "INBOX", [(7, new)])
    assert fulltext.without_content(db, "INBOX", [7]) == []
    indexed = fulltext.indexed_content(db, "INBOX", [7])[7]
    assert indexed.attachments == (("r.pdf", "application/pdf", 1200),)
    assert fulltext.search_text(db, "INBOX", "subject", "report") == {7}
    fulltext.drop_content(db, "INBOX", 7)
    assert db.execute("SELECT count(*) FROM parts").fetchone()[0] == 0
