"""Conversations in the web pages: grouping by References / In-Reply-To (subject as the
fallback), the conversation list with snippets, markers and relative dates, the plain
list toggle, the Sent folder showing recipients, the conversation view, page bounds."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from support.web import ALICE, html_message, raw_message

from mailrs.store.maildir import MaildirStore
from web.mail_format import file_size, mail_date, relative_date
from web.mailservice.conversations import group, head_of

pytestmark = pytest.mark.web_app(config="[auth]\nbase_delay_secs = 0.0", logged_in=True)


def threaded(subject: str, mid: str, refs: str = "", day: int = 1, body: str = "Hi") -> bytes:
    """A message with a Message-ID and, for a reply, References and In-Reply-To."""
    extra = f"Message-ID: <{mid}>\r\n"
    if refs:
        extra += f"References: {refs}\r\nIn-Reply-To: {refs.split()[-1]}\r\n"
    raw = raw_message(subject, body=body, day=day, extra=extra).decode()
    raw = re.sub(r"Message-ID: <\d+\.\d+@remote.test>\r\n", "", raw, count=1)
    return raw.encode()


def test_grouping_by_references_then_subject() -> None:
    heads = [
        head_of(1, "Subject: Phoenix\nMessage-ID: <a@x>"),
        head_of(2, "Subject: Re: Phoenix\nMessage-ID: <b@x>\nReferences: <a@x>"),
        head_of(3, "Subject: Other\nMessage-ID: <c@x>"),
        head_of(4, "Subject: RE: phoenix\nMessage-ID: <d@x>"),  # no references: by subject
        head_of(5, "Subject: Phoenix\nMessage-ID: <e@x>"),  # not a reply: its own
        head_of(6, "Subject: Misc\nMessage-ID: <f@x>\nIn-Reply-To: <c@x>"),
    ]
    assert sorted(group(heads)) == [[1, 2, 4], [3, 6], [5]]


def test_conversation_list_view_and_toggle(client: FlaskClient, store: MaildirStore) -> None:
    store.create_user(ALICE)
    store.deliver(ALICE, threaded("Project Phoenix kickoff", "p1@x", day=1, body="Let us start."))
    for n in range(2, 9):
        refs = " ".join(f"<p{i}@x>" for i in range(1, n))
        store.deliver(
            ALICE, threaded("Re: Project Phoenix kickoff", f"p{n}@x", refs, day=n, body=f"r{n}")
        )
    store.deliver(ALICE, html_message("Invoice", "<p>pdf</p>", attachment=b"%PDF"))
    html = client.get("/").get_data(as_text=True)
    assert len(re.findall(r">Project Phoenix kickoff\s", html)) == 1
    assert 'aria-label="8 messages"' in html
    assert "r8" in html  # the snippet of the newest message
    assert 'aria-label="Has attachments"' in html
    listed = client.get("/?view=list").get_data(as_text=True)
    assert listed.count("Re: Project Phoenix kickoff") == 7
    again = client.get("/").get_data(as_text=True)  # the choice is remembered
    assert again.count("Re: Project Phoenix kickoff") == 7
    client.get("/?view=conversations")
    link = re.search(r'href="(/conversation/\d+\?folder=INBOX)"', client.get("/").get_data(True))
    assert link
    page = client.get(link.group(1)).get_data(as_text=True)
    assert page.count('<details class="thread-message"') == 8
    assert page.count('<details class="thread-message" open>') == 8  # all unread: all open
    again = client.get(link.group(1)).get_data(as_text=True)
    assert again.count('<details class="thread-message" open>') == 1  # now read: the last
    assert "Let us start." in again


def test_sent_shows_recipients_and_thread_takes_own_replies(
    client: FlaskClient, store: MaildirStore
) -> None:
    store.create_user(ALICE)
    store.deliver(ALICE, threaded("Budget", "b1@x", day=1))
    reply = raw_message("Re: Budget", sender=ALICE, to="Dave Far <dave@far.test>", day=2)
    reply = reply.replace(b"MIME-Version", b"In-Reply-To: <b1@x>\r\nMIME-Version")
    store.deliver(ALICE, reply, "Sent")
    sent = client.get("/?folder=Sent").get_data(as_text=True)
    assert "Dave Far" in sent and "To: " in sent
    uid = re.search(r'href="/message/(\d+)\?folder=INBOX"', client.get("/").get_data(True))
    assert uid
    page = client.get(f"/conversation/{uid.group(1)}?folder=INBOX").get_data(as_text=True)
    assert page.count('class="thread-message"') == 2 and "· Sent" in page
    assert client.get("/conversation/999?folder=INBOX").status_code == 404


def test_page_numbers_are_clamped(client: FlaskClient, store: MaildirStore) -> None:
    for n in range(25):
        store.deliver(ALICE, raw_message(f"Note {n:02d}", day=1 + n % 28), mtime=1e9 + n)
    for view in ("list", "conversations"):
        html = client.get(f"/?page=999&view={view}").get_data(as_text=True)
        assert "Page 2 of 2" in html and "Page 999" not in html, view


def test_date_and_size_labels() -> None:
    now = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)
    assert relative_date(dt.datetime(2026, 3, 10, 9, 5, tzinfo=dt.UTC), now) == "09:05"
    assert relative_date(dt.datetime(2026, 3, 8, 9, 5, tzinfo=dt.UTC), now) == "Sun"
    assert relative_date(dt.datetime(2026, 1, 2, 9, 5, tzinfo=dt.UTC), now) == "2 Jan"
    assert relative_date(dt.datetime(2024, 1, 2, 9, 5, tzinfo=dt.UTC), now) == "2 Jan 2024"
    assert mail_date("Mon, 01 Dec 2025 10:00:00 +0000") == "Mon 1 Dec 2025, 10:00 +0000"
    assert mail_date("not a date") == "not a date"
    assert [file_size(n) for n in (10, 14 * 1024, 5 * 1024 * 1024 // 2)] == [
        "10 bytes",
        "14 KB",
        "2.5 MB",
    ]


def test_conversations_read_no_whole_message_once_indexed(
    app: Flask, client: FlaskClient, store: MaildirStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    big = raw_message("Big attachment") + b"x" * (1024 * 1024)
    store.deliver(ALICE, big, mtime=1_700_000_000)
    store.deliver(ALICE, raw_message("Small"), mtime=1_700_000_100)
    assert "Big attachment" in client.get("/").get_data(as_text=True)  # indexes the folder once
    app_store = app.extensions["mailrs"].store
    heads: list[int] = []
    real_read_head: Callable[..., bytes] = app_store.read_head

    def whole_read(*args: object, **kwargs: object) -> bytes:
        raise AssertionError("the conversation list must not read whole messages")

    def recording_read_head(*args: object, **kwargs: object) -> bytes:
        heads.append(len(real_read_head(*args, **kwargs)))
        return real_read_head(*args, **kwargs)

    monkeypatch.setattr(app_store, "read", whole_read)
    monkeypatch.setattr(app_store, "read_head", recording_read_head)
    html = client.get("/").get_data(as_text=True)
    assert "Big attachment" in html and "Small" in html
    assert heads and max(heads) <= 64 * 1024
