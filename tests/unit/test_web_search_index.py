"""The web search goes through the full-text index IMAP uses, with its filters: from, to,
subject, words, date range, unread, has attachment and folder."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient
from support.web import ALICE, html_message, raw_message

from mailrs.store.mailbox import MailboxService
from mailrs.store.maildir import MaildirStore

pytestmark = pytest.mark.web_app(config="[auth]\nbase_delay_secs = 0.0", logged_in=True)


def subjects(client: FlaskClient, query: str) -> list[str]:
    """The subjects a search page lists, in order."""
    response = client.get(f"/search?{query}")
    assert response.status_code == 200, response.get_data(as_text=True)
    html = response.get_data(as_text=True)
    return re.findall(r'<span class="subject">([^<]*?) <small', html)


@pytest.fixture
def mail(store: MaildirStore) -> MaildirStore:
    """Alice's mailbox with a few messages across folders."""
    store.create_user(ALICE)
    store.deliver(ALICE, raw_message("Phoenix kickoff", body="the rocket plan", day=3))
    store.deliver(
        ALICE, raw_message("Lunch", sender="Bob <bob@remote.test>", body="pizza?", day=10)
    )
    store.deliver(ALICE, raw_message("Old rocket news", body="rocket archive", day=1), "Archive")
    store.deliver(ALICE, html_message("Invoice attached", "<p>see pdf</p>", attachment=b"%PDF"))
    store.deliver(
        ALICE, raw_message("To Dave", sender=ALICE, to="Dave <dave@far.test>", day=5), "Sent"
    )
    store.deliver(ALICE, raw_message("Rocket spam", body="rocket!!", day=4), "Junk")
    return store


def test_words_search_every_folder_but_junk_newest_first(
    client: FlaskClient, mail: MaildirStore
) -> None:
    assert subjects(client, "q=rocket") == ["Phoenix kickoff", "Old rocket news"]
    assert subjects(client, "q=rocket+plan") == ["Phoenix kickoff"]
    assert subjects(client, "q=rocket&folder=Junk") == ["Rocket spam"]
    assert subjects(client, "q=zebra") == []


def test_sender_recipient_and_subject(client: FlaskClient, mail: MaildirStore) -> None:
    assert subjects(client, "from=bob%40remote") == ["Lunch"]
    assert subjects(client, "to=dave") == ["To Dave"]
    assert subjects(client, "subject=invoice") == ["Invoice attached"]


def test_date_range_unread_and_attachment(client: FlaskClient, mail: MaildirStore) -> None:
    assert subjects(client, "since=2025-12-03&before=2025-12-05") == ["To Dave", "Phoenix kickoff"]
    assert subjects(client, "attachment=1") == ["Invoice attached"]
    with MailboxService(mail, ALICE) as service:
        lunch = next(
            m.uid for m in service.messages("INBOX") if b"Lunch" in service.read_uid("INBOX", m.uid)
        )
        service.set_flags("INBOX", lunch, add="S")
    unread = subjects(client, "unread=1&folder=INBOX")
    assert "Lunch" not in unread and "Phoenix kickoff" in unread


def test_search_uses_the_index(client: FlaskClient, mail: MaildirStore) -> None:
    subjects(client, "q=pizza")
    with MailboxService(mail, ALICE) as service:
        assert len(service.search_text("INBOX", "body", "pizza")) == 1  # parsed into the index


def test_bad_search_inputs_are_400(client: FlaskClient, mail: MaildirStore) -> None:
    assert client.get("/search?since=yesterday").status_code == 400
    assert client.get("/search?q=x&folder=Nowhere").status_code == 404
    assert client.get("/search?q=x&folder=..%2Fetc").status_code == 400
    page = client.get("/search").get_data(as_text=True)
    assert 'name="attachment"' in page and "No message matches" not in page


def test_results_are_conversations_with_a_message_view(
    client: FlaskClient, store: MaildirStore
) -> None:
    store.create_user(ALICE)
    for n in range(1, 4):
        extra = "In-Reply-To: <b1@remote.test>\r\nReferences: <b1@remote.test>\r\n" if n > 1 else ""
        raw = raw_message(
            ("Re: " if n > 1 else "") + "Budget", body=f"budget v{n}", day=n, extra=extra
        )
        store.deliver(
            ALICE,
            raw.replace(b"Message-ID: <", f"Message-ID: <b{n}@remote.test>\r\nX-Id: <".encode()),
        )
    store.deliver(ALICE, raw_message("Unrelated budget", body="budget too", day=9))
    html = client.get("/search?q=budget").get_data(as_text=True)
    assert "4 messages in 2 conversations" in html
    assert subjects(client, "q=budget") == ["Unrelated budget", "Re: Budget"]
    assert '<span class="count" aria-label="3 messages">3</span>' in html and "3 match" in html
    assert re.search(r'href="/conversation/\d+\?folder=INBOX"', html)
    assert subjects(client, "q=budget&view=list") == [
        "Unrelated budget",
        "Re: Budget",
        "Re: Budget",
        "Budget",
    ]
    assert subjects(client, "q=v2") == ["Re: Budget"]  # one match still shows its conversation
    assert '<span class="count" aria-label="3 messages">3</span>' in client.get(
        "/search?q=v2&view=conversations"
    ).get_data(as_text=True)
