"""The REST API through Flask's test client: every endpoint, ownership, CSRF, XSS.

Tokens, login throttling and the login audit are in test_web_api_auth.py."""

from __future__ import annotations

import json

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from support.web import (
    ALICE,
    BOB,
    api_token,
    html_message,
    log_in,
    page_csrf,
    raw_message,
)

from mailrs.db.models import Message
from mailrs.queue.spool import Spool
from mailrs.store.index import MailIndex
from mailrs.store.maildir import MaildirStore

SECRET = "test-only-jwt-secret-not-real-0123"
XSS_HTML = (
    "<p>Hi <b>there</b></p><script>alert('body')</script>"
    '<img src="https://tracker.example/pixel.gif" onerror="alert(1)">'
    '<a href="javascript:alert(2)">click</a><a href="https://ok.example/">ok</a>'
    '<div onclick="alert(3)" style="background:url(https://x.example/)">styled</div>'
    "<iframe src='https://evil.example/'></iframe><form action='https://evil.example/'></form>"
)


pytestmark = pytest.mark.web_app(
    config="[auth]\nbase_delay_secs = 0.0\nmax_failures_per_account = 3"
)


@pytest.fixture
def mailstore(app: Flask) -> MaildirStore:
    """The app's Maildir store."""
    return app.extensions["mailrs"].store


@pytest.fixture
def alice_api(client: FlaskClient) -> dict[str, str]:
    """Alice's API headers."""
    return api_token(client, ALICE)


def uid_of(store: MaildirStore, address: str, key: str, folder: str = "INBOX") -> int:
    """The UID the mailbox index gives a stored message."""
    index = MailIndex(store, address)
    try:
        return next(m.uid for m in index.sync(folder).messages if m.key == key)
    finally:
        index.close()


# -- reading ---------------------------------------------------------------------------------


def test_folders_have_unread_counts(
    client: FlaskClient, alice_api: dict[str, str], mailstore: MaildirStore
) -> None:
    mailstore.deliver(ALICE, raw_message("one"))
    seen = mailstore.deliver(ALICE, raw_message("two"))
    mailstore.set_flags(ALICE, "INBOX", seen.key, "S")
    mailstore.deliver(ALICE, raw_message("junk"), mailbox="Junk")
    folders = {
        f["name"]: f for f in client.get("/api/folders", headers=alice_api).get_json()["folders"]
    }
    assert list(folders)[0] == "INBOX"
    assert {"Sent", "Drafts", "Trash", "Junk", "Archive"} <= set(folders)
    assert (folders["INBOX"]["total"], folders["INBOX"]["unread"]) == (2, 1)
    assert (folders["Junk"]["total"], folders["Junk"]["unread"]) == (1, 1)


def test_message_list_pages_newest_first(
    client: FlaskClient, alice_api: dict[str, str], mailstore: MaildirStore
) -> None:
    for n in range(23):
        mailstore.deliver(ALICE, raw_message(f"Message {n:02d}", day=1 + n % 28), mtime=1e9 + n)
    first = client.get("/api/messages?per_page=10", headers=alice_api).get_json()
    assert (first["total"], first["pages"], first["page"]) == (23, 3, 1)
    assert [m["subject"] for m in first["messages"]][:2] == ["Message 22", "Message 21"]
    last = client.get("/api/messages?per_page=10&page=3", headers=alice_api).get_json()
    assert [m["subject"] for m in last["messages"]] == ["Message 02", "Message 01", "Message 00"]
    assert client.get("/api/messages?page=0", headers=alice_api).status_code == 400
    assert client.get("/api/messages?per_page=x", headers=alice_api).status_code == 400
    assert client.get("/api/messages?folder=Nope", headers=alice_api).status_code == 404
    assert client.get("/api/messages?folder=../../etc", headers=alice_api).status_code == 400


def test_get_message_sanitizes_html_and_blocks_remote_images(
    client: FlaskClient, alice_api: dict[str, str], mailstore: MaildirStore
) -> None:
    stored = mailstore.deliver(ALICE, html_message("<script>alert('subject')</script>", XSS_HTML))
    uid = uid_of(mailstore, ALICE, stored.key)
    body = client.get(f"/api/messages/{uid}", headers=alice_api).get_json()
    html = body["html"]
    for bad in (
        "<script",
        "onerror",
        "onclick",
        "javascript:",
        "<iframe",
        "<form",
        "style=",
        "tracker",
    ):
        assert bad not in html, bad
    assert "<b>there</b>" in html and 'href="https://ok.example/"' in html
    assert "noopener" in html
    assert body["blocked_images"] == 1
    assert body["text"].strip() == "Plain fallback text."
    assert body["subject"] == "<script>alert('subject')</script>"  # data in JSON, not markup
    with_images = client.get(f"/api/messages/{uid}?images=1", headers=alice_api).get_json()
    assert 'src="https://tracker.example/pixel.gif"' in with_images["html"]
    assert "onerror" not in with_images["html"]


def test_raw_and_attachment_download(
    client: FlaskClient, alice_api: dict[str, str], mailstore: MaildirStore
) -> None:
    data = html_message("report", "<p>see attached</p>", attachment=b"%PDF-1.4 fake")
    uid = uid_of(mailstore, ALICE, mailstore.deliver(ALICE, data).key)
    raw = client.get(f"/api/messages/{uid}/raw", headers=alice_api)
    assert raw.status_code == 200 and raw.data == data
    assert raw.mimetype == "message/rfc822"
    (attachment,) = client.get(f"/api/messages/{uid}", headers=alice_api).get_json()["attachments"]
    assert attachment["filename"] == "report.pdf"
    download = client.get(
        f"/api/messages/{uid}/attachments/{attachment['index']}", headers=alice_api
    )
    assert download.status_code == 200 and download.data == b"%PDF-1.4 fake"
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert "report.pdf" in download.headers["Content-Disposition"]
    assert download.mimetype == "application/octet-stream"
    assert client.get(f"/api/messages/{uid}/attachments/0", headers=alice_api).status_code == 404
    assert client.get(f"/api/messages/{uid}/attachments/99", headers=alice_api).status_code == 404


def test_plain_text_message_has_no_html(
    client: FlaskClient, alice_api: dict[str, str], mailstore: MaildirStore
) -> None:
    uid = uid_of(
        mailstore, ALICE, mailstore.deliver(ALICE, raw_message("plain", body="<b>x</b>")).key
    )
    body = client.get(f"/api/messages/{uid}", headers=alice_api).get_json()
    assert body["html"] is None and body["text"].strip() == "<b>x</b>"


# -- ownership -------------------------------------------------------------------------------


def test_another_users_message_is_not_found(
    client: FlaskClient, alice_api: dict[str, str], mailstore: MaildirStore
) -> None:
    uid = uid_of(mailstore, ALICE, mailstore.deliver(ALICE, raw_message("private")).key)
    assert client.get(f"/api/messages/{uid}", headers=alice_api).status_code == 200
    bob = api_token(client, BOB)
    for method, path, body in [
        ("get", f"/api/messages/{uid}", None),
        ("get", f"/api/messages/{uid}/raw", None),
        ("get", f"/api/messages/{uid}/attachments/1", None),
        ("post", f"/api/messages/{uid}/flags", {"add": ["seen"]}),
        ("post", f"/api/messages/{uid}/move", {"to": "Archive"}),
        ("delete", f"/api/messages/{uid}", None),
    ]:
        response = getattr(client, method)(path, headers=bob, json=body)
        assert response.status_code == 404, (method, path)
        assert response.is_json
    # and nothing happened to Alice's message
    assert [m.flags for m in mailstore.list_messages(ALICE)] == [""]
    assert "private" not in json.dumps(client.get("/api/messages", headers=bob).get_json())


# -- changes ---------------------------------------------------------------------------------


def test_flags_are_shared_with_imap_through_the_maildir(
    client: FlaskClient, alice_api: dict[str, str], mailstore: MaildirStore
) -> None:
    stored = mailstore.deliver(ALICE, raw_message("flag me"))
    uid = uid_of(mailstore, ALICE, stored.key)
    response = client.post(
        f"/api/messages/{uid}/flags", headers=alice_api, json={"add": ["seen", "flagged"]}
    )
    assert response.get_json()["flags"] == ["flagged", "seen"]
    (on_disk,) = mailstore.list_messages(ALICE)
    assert on_disk.filename.endswith(":2,FS")  # what IMAP reads
    mailstore.set_flags(ALICE, "INBOX", stored.key, "RS")  # as IMAP would
    listed = client.get("/api/messages", headers=alice_api).get_json()["messages"][0]
    assert listed["flags"] == ["answered", "seen"] and listed["uid"] == uid
    response = client.patch(
        f"/api/messages/{uid}/flags", headers=alice_api, json={"remove": ["seen"]}
    )
    assert response.get_json()["flags"] == ["answered"]
    bad = client.post(f"/api/messages/{uid}/flags", headers=alice_api, json={"add": ["bogus"]})
    assert bad.status_code == 400 and "bogus" in bad.get_json()["error"]
    assert client.post(f"/api/messages/{uid}/flags", headers=alice_api, data="x").status_code == 400


def test_move_and_delete_to_trash_then_for_good(
    client: FlaskClient, alice_api: dict[str, str], mailstore: MaildirStore
) -> None:
    uid = uid_of(mailstore, ALICE, mailstore.deliver(ALICE, raw_message("move me")).key)
    moved = client.post(f"/api/messages/{uid}/move", headers=alice_api, json={"to": "Archive"})
    assert moved.status_code == 200
    archive_uid = moved.get_json()["uid"]
    assert mailstore.list_messages(ALICE) == []
    assert len(mailstore.list_messages(ALICE, "Archive")) == 1
    assert (
        client.post(
            f"/api/messages/{archive_uid}/move?folder=Archive",
            headers=alice_api,
            json={"to": "Nowhere"},
        ).status_code
        == 404
    )
    assert (
        client.post(
            f"/api/messages/{archive_uid}/move?folder=Archive",
            headers=alice_api,
            json={"to": "../x"},
        ).status_code
        == 400
    )
    gone = client.delete(f"/api/messages/{archive_uid}?folder=Archive", headers=alice_api)
    assert gone.get_json() == {"result": "trash"}
    (trashed,) = client.get("/api/messages?folder=Trash", headers=alice_api).get_json()["messages"]
    final = client.delete(f"/api/messages/{trashed['uid']}?folder=Trash", headers=alice_api)
    assert final.get_json() == {"result": "deleted"}
    assert mailstore.list_messages(ALICE, "Trash") == []
    assert client.delete(f"/api/messages/{uid}", headers=alice_api).status_code == 404


def test_search_by_sender_subject_text_and_date(
    client: FlaskClient, alice_api: dict[str, str], mailstore: MaildirStore
) -> None:
    mailstore.deliver(ALICE, raw_message("Invoice 42", sender="billing@shop.test", day=3))
    mailstore.deliver(
        ALICE, raw_message("Lunch", sender="dave@remote.test", body="pizza at noon", day=5)
    )
    mailstore.deliver(ALICE, raw_message("Old news", sender="dave@remote.test", day=1))

    def subjects(query: str) -> list[str]:
        response = client.get(f"/api/search?{query}", headers=alice_api)
        assert response.status_code == 200, response.get_json()
        return [m["subject"] for m in response.get_json()["messages"]]

    assert subjects("from=dave@remote.test") == ["Lunch", "Old news"]
    assert subjects("subject=invoice") == ["Invoice 42"]
    assert subjects("q=pizza") == ["Lunch"]
    assert subjects("from=dave&since=2025-12-02") == ["Lunch"]
    assert client.get("/api/search", headers=alice_api).status_code == 400
    assert client.get("/api/search?since=yesterday", headers=alice_api).status_code == 400


# -- sending ---------------------------------------------------------------------------------


def test_send_goes_through_the_submission_path_and_into_sent(
    app: Flask, client: FlaskClient, alice_api: dict[str, str], mailstore: MaildirStore
) -> None:
    response = client.post(
        "/api/messages",
        headers=alice_api,
        json={
            "to": [BOB],
            "bcc": ["hidden@remote.test"],
            "subject": "Hello Bob",
            "text": "Lunch today?",
        },
    )
    assert response.status_code == 202, response.get_json()
    body = response.get_json()
    settings = app.extensions["mailrs"].settings
    spooled = Spool(settings.spool_path).read(body["queue_id"])
    assert b"Subject: Hello Bob" in spooled and b"Lunch today?" in spooled
    assert b"Message-ID: <" in spooled and b"Date: " in spooled  # complete_headers
    assert b"hidden@remote.test" not in spooled  # Bcc stays off the wire
    with app.extensions["mailrs"].database.session() as session:
        row = session.scalar(select(Message).where(Message.queue_id == body["queue_id"]))
        assert row is not None
        assert (row.mail_from, row.auth_user, row.helo) == (ALICE, ALICE, "web")
        assert sorted(r.address for r in row.recipients) == [BOB, "hidden@remote.test"]
        assert row.published_at is not None  # handed to the (embedded) broker
    (sent,) = mailstore.list_messages(ALICE, "Sent")
    assert sent.flags == "S"
    copy = mailstore.read(ALICE, "Sent", sent.key)
    assert b"Bcc: hidden@remote.test" in copy and b"Lunch today?" in copy


def test_send_refuses_unknown_local_recipient_and_stores_nothing(
    app: Flask, client: FlaskClient, alice_api: dict[str, str], mailstore: MaildirStore
) -> None:
    response = client.post(
        "/api/messages", headers=alice_api, json={"to": ["ghost@example.test"], "text": "boo"}
    )
    assert response.status_code == 422
    assert "ghost@example.test" in response.get_json()["error"]
    assert mailstore.list_messages(ALICE, "Sent") == []
    with app.extensions["mailrs"].database.session() as session:
        assert session.scalars(select(Message)).all() == []


@pytest.mark.parametrize(
    "body",
    [{"to": [], "text": "x"}, {"to": ["not an address"]}, {"to": [BOB], "subject": 5}, {}],
)
def test_send_refuses_bad_drafts(
    client: FlaskClient, alice_api: dict[str, str], body: dict
) -> None:
    response = client.post("/api/messages", headers=alice_api, json=body)
    assert response.status_code in (400, 422)
    assert response.is_json


def test_send_multipart_with_attachment_and_reply(
    app: Flask, client: FlaskClient, alice_api: dict[str, str], mailstore: MaildirStore
) -> None:
    import io

    original = mailstore.deliver(ALICE, raw_message("Question", sender=f"Bob <{BOB}>"))
    uid = uid_of(mailstore, ALICE, original.key)
    response = client.post(
        "/api/messages",
        headers=alice_api,
        data={
            "text": "Here it is.",
            "reply_to_uid": str(uid),
            "attachments": (io.BytesIO(b"col1,col2\n1,2\n"), "data.csv", "text/csv"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 202, response.get_json()
    spooled = Spool(app.extensions["mailrs"].settings.spool_path).read(
        response.get_json()["queue_id"]
    )
    assert b"Subject: Re: Question" in spooled
    assert f"To: {BOB}".encode() in spooled
    assert b"In-Reply-To: <" in spooled
    assert b'filename="data.csv"' in spooled


# -- browser sessions and CSRF -------------------------------------------------------------


def test_session_callers_need_the_csrf_header_for_changes(
    client: FlaskClient, mailstore: MaildirStore
) -> None:
    uid = uid_of(mailstore, ALICE, mailstore.deliver(ALICE, raw_message("csrf")).key)
    log_in(client)
    assert client.get("/api/folders").status_code == 200  # reading needs no token
    refused = client.post(f"/api/messages/{uid}/flags", json={"add": ["seen"]})
    assert refused.status_code == 400
    assert "CSRF" in refused.get_json()["error"]
    assert mailstore.list_messages(ALICE)[0].flags == ""
    token = page_csrf(client, "/")
    accepted = client.post(
        f"/api/messages/{uid}/flags", json={"add": ["seen"]}, headers={"X-CSRFToken": token}
    )
    assert accepted.status_code == 200
    assert client.post("/api/messages", json={"to": [BOB], "text": "x"}).status_code == 400


def test_openapi_document_lists_every_endpoint(client: FlaskClient) -> None:
    doc = client.get("/api/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    assert {
        "/api/auth/token",
        "/api/folders",
        "/api/messages",
        "/api/messages/{uid}",
        "/api/messages/{uid}/raw",
        "/api/messages/{uid}/attachments/{index}",
        "/api/messages/{uid}/move",
        "/api/messages/{uid}/flags",
        "/api/search",
    } <= set(doc["paths"])


def test_unknown_api_paths_and_methods_are_json_errors(
    client: FlaskClient, alice_api: dict[str, str]
) -> None:
    missing = client.get("/api/nothing", headers=alice_api)
    assert missing.status_code == 404 and missing.is_json
    wrong = client.put("/api/folders", headers=alice_api)
    assert wrong.status_code == 405 and wrong.is_json
    assert client.get("/api/messages/abc", headers=alice_api).status_code == 404


def test_oversized_and_odd_requests_get_clear_4xx(
    app: Flask, client: FlaskClient, alice_api: dict[str, str], mailstore: MaildirStore
) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 1024
    big = client.post("/api/messages", headers=alice_api, json={"to": [BOB], "text": "x" * 4096})
    assert big.status_code == 413 and big.is_json
    assert (
        client.post(
            "/api/auth/token", data=b"\xff\xfe", content_type="application/json"
        ).status_code
        == 400
    )
    assert client.get("/api/messages/99999", headers=alice_api).status_code == 404
    assert client.get("/api/messages?folder=", headers=alice_api).status_code == 200  # INBOX
    assert client.get(f"/api/messages?folder={'x' * 300}", headers=alice_api).status_code == 400
    assert client.get("/api/messages?folder=%00", headers=alice_api).status_code == 400
    assert client.post("/api/messages/1/move", headers=alice_api, json={"to": 5}).status_code == 400
    assert (
        client.post("/api/messages/1/flags", headers=alice_api, json={"add": "seen"}).status_code
        == 400
    )
    assert mailstore.list_messages(ALICE, "Sent") == []


def test_broken_mime_is_shown_not_crashed(
    client: FlaskClient, alice_api: dict[str, str], mailstore: MaildirStore
) -> None:
    broken = (
        b"From: =?bogus?q?x?= <<<\r\nSubject: =?utf-8?b?!!!?=\r\nDate: not a date\r\n"
        b'Content-Type: multipart/mixed; boundary="nope"\r\n\r\n--other\r\n\xff\xfe binary\r\n'
    )
    uid = uid_of(mailstore, ALICE, mailstore.deliver(ALICE, broken).key)
    listed = client.get("/api/messages", headers=alice_api)
    assert listed.status_code == 200
    shown = client.get(f"/api/messages/{uid}", headers=alice_api)
    assert shown.status_code == 200 and shown.get_json()["uid"] == uid
