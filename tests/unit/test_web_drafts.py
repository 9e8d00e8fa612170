"""Drafts from the compose page: saved to Drafts through the mailbox service (\\Draft),
one current copy, resumed from there, removed once sent; Cc and Bcc kept on errors; an
over-limit upload answers a styled 413 that keeps the autosaved draft."""

from __future__ import annotations

import io

import pytest
from flask import Flask
from flask.testing import FlaskClient
from support.web import ALICE, BOB, page_csrf

from mailrs.store.mailbox import MailboxService
from mailrs.store.maildir import MaildirStore

pytestmark = pytest.mark.web_app(config="[auth]\nbase_delay_secs = 0.0", logged_in=True)


def drafts(store: MaildirStore) -> list[tuple[int, str, bytes]]:
    """(UID, flags, bytes) of each message in Drafts, as IMAP sees them."""
    with MailboxService(store, ALICE) as service:
        return [
            (m.uid, m.flags, service.read_uid("Drafts", m.uid)) for m in service.messages("Drafts")
        ]


def test_autosave_replaces_and_resumes(client: FlaskClient, store: MaildirStore) -> None:
    token = page_csrf(client, "/compose")
    form = {"csrf_token": token, "to": "bob@", "cc": "carol@remote.test", "subject": "Plan"}
    first = client.post("/compose/draft", data={**form, "bcc": "dave@remote.test", "text": "Hi"})
    assert first.status_code == 200, first.get_data(as_text=True)
    uid = first.get_json()["uid"]
    ((saved_uid, flags, data),) = drafts(store)
    assert saved_uid == uid and "D" in flags and b"Bcc: dave@remote.test" in data
    second = client.post("/compose/draft", data={**form, "text": "Hi Bob", "draft": str(uid)})
    new_uid = second.get_json()["uid"]
    ((only, _, data),) = drafts(store)  # the older copy is gone
    assert only == new_uid != uid and b"Hi Bob" in data
    page = client.get(f"/compose?draft={new_uid}").get_data(as_text=True)
    assert 'value="bob@"' in page and 'value="carol@remote.test"' in page
    assert "Hi Bob</textarea>" in page and f'id="draft-uid" value="{new_uid}"' in page
    assert client.get("/compose?draft=999").status_code == 404
    assert client.get("/compose?draft=abc").status_code == 400


def test_save_button_and_send_removes_the_draft(client: FlaskClient, store: MaildirStore) -> None:
    token = page_csrf(client, "/compose")
    saved = client.post(
        "/compose", data={"csrf_token": token, "to": BOB, "subject": "Later", "action": "draft"}
    )
    assert saved.status_code == 302 and "draft=" in saved.headers["Location"]
    ((uid, _, _),) = drafts(store)
    sent = client.post(
        "/compose", data={"csrf_token": token, "to": BOB, "subject": "Later", "draft": str(uid)}
    )
    assert sent.status_code == 302, sent.get_data(as_text=True)
    assert drafts(store) == [] and len(store.list_messages(ALICE, "Sent")) == 1


def test_errors_keep_cc_and_bcc(client: FlaskClient) -> None:
    token = page_csrf(client, "/compose")
    form = {"csrf_token": token, "to": "not an address", "cc": BOB, "bcc": "eve@remote.test"}
    page = client.post("/compose", data=form)
    html = page.get_data(as_text=True)
    assert page.status_code == 400
    assert f'value="{BOB}"' in html and 'value="eve@remote.test"' in html


def test_too_large_upload_keeps_the_draft(app: Flask, client: FlaskClient) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 60000  # [api] max_upload_bytes
    token = page_csrf(client, "/compose")
    saved = client.post("/compose/draft", data={"csrf_token": token, "to": BOB, "text": "Keep me"})
    uid = saved.get_json()["uid"]
    response = client.post(
        f"/compose?draft={uid}",
        data={
            "csrf_token": token,
            "to": BOB,
            "attachments": (io.BytesIO(b"x" * 100_000), "big.bin", "application/octet-stream"),
        },
        content_type="multipart/form-data",
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 413
    assert "more than the 59 KB" in html and "Keep me</textarea>" in html
    assert 'class="card compose"' in html
    elsewhere = client.post("/bulk", data={"x": "y" * 100_000})
    assert elsewhere.status_code == 413 and "Too large" in elsewhere.get_data(as_text=True)
