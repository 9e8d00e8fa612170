"""Mail in the browser through Flask's test client: folders, paging, message view (sanitised,
remote images on request, attachments), compose/reply/forward, move, delete, flags, search,
with CSRF enforced on every form."""

from __future__ import annotations

import io
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from support.web import (
    ALICE,
    BOB,
    html_message,
    page_csrf,
    raw_message,
)

from mailrs.queue.spool import Spool
from mailrs.store.maildir import MaildirStore

XSS = (
    "<p>Dear <b>Alice</b></p><script>document.title='pwned'</script>"
    '<img src="http://tracker.example/open.gif" onerror="alert(1)">'
    '<a href="javascript:alert(2)">x</a><svg onload="alert(3)"></svg>'
)


pytestmark = pytest.mark.web_app(config="[auth]\nbase_delay_secs = 0.0", logged_in=True)


def first_uid(client: FlaskClient, folder: str = "INBOX") -> int:
    """The UID of the newest message of a folder, from the list page's links."""
    html = client.get(f"/?folder={folder}").get_data(as_text=True)
    match = re.search(r'href="/message/(\d+)\?folder=', html)
    assert match, html
    return int(match.group(1))


def test_folders_with_unread_counts_and_paging(client: FlaskClient, store: MaildirStore) -> None:
    for n in range(45):
        store.deliver(ALICE, raw_message(f"Note {n:02d}", day=1 + n % 28), mtime=1e9 + n)
    html = client.get("/").get_data(as_text=True)
    assert re.search(r"INBOX</span><span class=\"badge\" title=\"unread\">45<", html)
    assert "Trash" in html and "Archive" in html
    assert "Note 44" in html and "Note 24" not in html and "Older" in html
    page3 = client.get("/?page=3").get_data(as_text=True)
    assert re.findall(r"Note (\d\d)", page3) == ["04", "03", "02", "01", "00"]
    assert "Page 3 of 3" in page3 and "Newer" in page3
    assert client.get("/?folder=..%2Fx").status_code == 400
    assert client.get("/?folder=Nope").status_code == 404


def test_message_view_is_sanitised_and_images_load_on_request(
    client: FlaskClient, store: MaildirStore
) -> None:
    store.deliver(ALICE, html_message("<i>Hi</i> & <script>x</script>", XSS, attachment=b"%PDF"))
    uid = first_uid(client)
    response = client.get(f"/message/{uid}")
    html = response.get_data(as_text=True)
    body = html.split('<div class="mail-html">', 1)[1].split("</div>", 1)[0]
    assert "<b>Alice</b>" in body
    for bad in ("<script", "onerror", "onload", "javascript:", "tracker.example", "<svg"):
        assert bad not in body, bad
    assert "&lt;i&gt;Hi&lt;/i&gt; &amp; &lt;script&gt;x&lt;/script&gt;" in html  # subject escaped
    assert "1 remote image blocked" in html
    assert "img-src" not in response.headers["Content-Security-Policy"]
    shown = client.get(f"/message/{uid}?images=1")
    assert 'src="http://tracker.example/open.gif"' in shown.get_data(as_text=True)
    assert "img-src 'self' data: http: https:" in shown.headers["Content-Security-Policy"]
    assert "script-src" not in shown.headers["Content-Security-Policy"]  # default-src 'self'
    assert store.list_messages(ALICE)[0].flags == "S"  # opened = read
    link = re.search(r'href="(/message/\d+/attachment/\d+\?folder=INBOX)"', html)
    assert link
    download = client.get(link.group(1))
    assert download.data == b"%PDF" and "report.pdf" in download.headers["Content-Disposition"]


def test_plain_text_fallback_is_escaped(client: FlaskClient, store: MaildirStore) -> None:
    store.deliver(ALICE, raw_message("plain", body="<script>alert(1)</script>\nline two"))
    html = client.get(f"/message/{first_uid(client)}").get_data(as_text=True)
    assert '<pre class="mail-text">&lt;script&gt;alert(1)&lt;/script&gt;\nline two' in html


def test_forms_need_csrf(client: FlaskClient, store: MaildirStore) -> None:
    store.deliver(ALICE, raw_message("keep me"))
    uid = first_uid(client)
    client.get(f"/message/{uid}")
    for path, data in [
        (f"/message/{uid}/delete", {}),
        (f"/message/{uid}/move", {"to": "Archive"}),
        (f"/message/{uid}/flags", {"seen": "0"}),
        ("/compose", {"to": BOB, "text": "x"}),
    ]:
        assert client.post(path, data=data).status_code == 400, path
    assert len(store.list_messages(ALICE)) == 1 and store.list_messages(ALICE)[0].flags == "S"
    assert store.list_messages(ALICE, "Sent") == []


def test_mark_unread_move_and_delete(client: FlaskClient, store: MaildirStore) -> None:
    store.deliver(ALICE, raw_message("tidy up"))
    uid = first_uid(client)
    client.get(f"/message/{uid}")
    token = page_csrf(client, "/")
    client.post(f"/message/{uid}/flags", data={"csrf_token": token, "seen": "0"})
    assert store.list_messages(ALICE)[0].flags == ""
    client.post(f"/message/{uid}/move", data={"csrf_token": token, "to": "Archive"})
    assert store.list_messages(ALICE) == [] and len(store.list_messages(ALICE, "Archive")) == 1
    archived = first_uid(client, "Archive")
    client.post(f"/message/{archived}/delete?folder=Archive", data={"csrf_token": token})
    assert len(store.list_messages(ALICE, "Trash")) == 1
    trashed = first_uid(client, "Trash")
    response = client.post(f"/message/{trashed}/delete?folder=Trash", data={"csrf_token": token})
    assert response.status_code == 302
    assert store.list_messages(ALICE, "Trash") == []


def test_compose_with_attachment_goes_out_and_into_sent(
    app: Flask, client: FlaskClient, store: MaildirStore
) -> None:
    form = client.get("/compose").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in form
    response = client.post(
        "/compose",
        data={
            "csrf_token": page_csrf(client, "/compose"),
            "to": f"Bob <{BOB}>",
            "subject": "Photos",
            "text": "See attached.",
            "attachments": (io.BytesIO(b"\x89PNG fake"), "beach.png", "image/png"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302 and response.headers["Location"] == "/?folder=Sent"
    (sent,) = store.list_messages(ALICE, "Sent")
    copy = store.read(ALICE, "Sent", sent.key)
    assert b"Subject: Photos" in copy and b'filename="beach.png"' in copy
    spool = Spool(app.extensions["mailrs"].settings.spool_path)
    assert [p.name for p in spool.queue_dir.iterdir()]  # accepted for delivery
    assert "Photos" in client.get("/?folder=Sent").get_data(as_text=True)


def test_compose_errors_are_clear(client: FlaskClient, store: MaildirStore) -> None:
    token = page_csrf(client, "/compose")
    unknown = client.post("/compose", data={"csrf_token": token, "to": "ghost@example.test"})
    assert unknown.status_code == 422
    assert "ghost@example.test: no such mailbox here" in unknown.get_data(as_text=True)
    bad = client.post("/compose", data={"csrf_token": token, "to": "not an address"})
    assert bad.status_code == 400 and "not an email address" in bad.get_data(as_text=True)
    assert store.list_messages(ALICE, "Sent") == []


def test_reply_and_forward_are_prefilled(client: FlaskClient, store: MaildirStore) -> None:
    store.deliver(
        ALICE,
        html_message("Plans", "<p>Shall we meet?</p>", attachment=b"%PDF-agenda"),
    )
    uid = first_uid(client)
    reply = client.get(f"/compose?reply={uid}").get_data(as_text=True)
    assert 'value="mallory@remote.test"' in reply and 'value="Re: Plans"' in reply
    assert "&gt; Plain fallback text." in reply
    token = page_csrf(client, "/compose")
    client.post(
        "/compose",
        data={
            "csrf_token": token,
            "reply": str(uid),
            "folder": "INBOX",
            "to": "mallory@remote.test",
            "subject": "Re: Plans",
            "text": "Yes.",
        },
    )
    assert "R" in store.list_messages(ALICE)[0].flags  # answered, for IMAP too
    forward = client.get(f"/compose?forward={uid}").get_data(as_text=True)
    assert 'value="Fwd: Plans"' in forward and "Forwarded message" in forward
    client.post(
        "/compose",
        data={
            "csrf_token": token,
            "forward": str(uid),
            "folder": "INBOX",
            "to": BOB,
            "subject": "Fwd: Plans",
            "text": "FYI",
        },
    )
    copies = [store.read(ALICE, "Sent", m.key) for m in store.list_messages(ALICE, "Sent")]
    forwarded = next(c for c in copies if b"Subject: Fwd: Plans" in c)
    assert b'filename="report.pdf"' in forwarded  # the original attachment goes along


def test_search_page(client: FlaskClient, store: MaildirStore) -> None:
    store.deliver(ALICE, raw_message("Garden party", body="bring a cake"))
    store.deliver(ALICE, raw_message("Tax return"))
    html = client.get("/search?q=cake").get_data(as_text=True)
    assert "Garden party" in html and "Tax return" not in html
    assert "No message matches" in client.get("/search?q=zebra").get_data(as_text=True)


def test_pages_have_security_headers_and_no_inline_script(client: FlaskClient) -> None:
    for path in ("/", "/compose", "/chat", "/search"):
        response = client.get(path)
        html = response.get_data(as_text=True)
        assert response.headers["X-Frame-Options"] == "DENY"
        assert "default-src 'self'" in response.headers["Content-Security-Policy"]
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), path
        assert 'name="viewport"' in html


def test_bad_page_inputs_are_4xx(client: FlaskClient, store: MaildirStore) -> None:
    assert client.get("/message/424242").status_code == 404
    assert client.get("/message/1/attachment/3").status_code == 404
    assert client.get("/compose?reply=abc").status_code == 400
    assert client.get("/compose?forward=99").status_code == 404
    assert client.get("/?page=abc").status_code == 200  # falls back to page 1
    token = page_csrf(client, "/")
    assert client.post(
        "/message/1/move", data={"csrf_token": token, "to": "../etc"}
    ).status_code in (400, 404)
    html = client.get("/message/424242").get_data(as_text=True)
    assert "Traceback" not in html and "no message 424242" in html
