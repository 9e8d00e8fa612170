"""Settings → Name and signature: the display name goes in From of mail sent (web and API),
the signature is added by compose above quoted text; bad input is refused."""

from __future__ import annotations

import email
import email.policy

import pytest
from flask.testing import FlaskClient
from support.web import ALICE, BOB, api_token, page_csrf, raw_message

from mailrs.accounts.preferences import with_signature
from mailrs.store.mailbox import MailboxService
from mailrs.store.maildir import MaildirStore

pytestmark = pytest.mark.web_app(config="[auth]\nbase_delay_secs = 0.0", logged_in=True)


def save_identity(client: FlaskClient, name: str, signature: str) -> int:
    """Post the identity form; the status."""
    token = page_csrf(client, "/settings")
    form = {"csrf_token": token, "display_name": name, "signature": signature}
    return client.post("/settings/identity", data=form).status_code


def sent_froms(store: MaildirStore) -> list[str]:
    """The From header of each message in Alice's Sent, as IMAP reads it."""
    with MailboxService(store, ALICE) as service:
        raws = [service.read_uid("Sent", m.uid) for m in service.messages("Sent")]
    return [str(email.message_from_bytes(r, policy=email.policy.default)["From"]) for r in raws]


def test_display_name_in_from_of_web_and_api_mail(client: FlaskClient, store: MaildirStore) -> None:
    assert save_identity(client, "  Alice   Liddell ", "Alice\r\nWonderland Inc.  \r\n") == 302
    page = client.get("/settings").get_data(as_text=True)
    assert "Name and signature saved." in page and 'value="Alice Liddell"' in page
    assert "Alice Liddell &lt;alice@example.test&gt;" in page
    token = page_csrf(client, "/compose")
    sent = client.post("/compose", data={"csrf_token": token, "to": BOB, "subject": "Hi"})
    assert sent.status_code == 302
    response = client.post(
        "/api/messages",
        json={"to": [BOB], "subject": "Via API", "text": "x"},
        headers=api_token(client),
    )
    assert response.status_code in (200, 201, 202), response.get_json()
    assert sent_froms(store) == [f"Alice Liddell <{ALICE}>"] * 2


def test_signature_in_new_reply_and_forward_but_not_resumed_drafts(
    client: FlaskClient, store: MaildirStore
) -> None:
    assert save_identity(client, "", "Alice L.\nhttps://alice.test") == 302
    new = client.get("/compose").get_data(as_text=True)
    assert "\n\n-- \nAlice L.\nhttps://alice.test\n</textarea>" in new
    store.create_user(ALICE)
    store.deliver(ALICE, raw_message("Question", body="Are you there?"))
    reply = client.get("/compose?reply=1&folder=INBOX").get_data(as_text=True)
    body = reply.split('name="text"', 1)[1]
    assert body.index("-- \nAlice L.") < body.index("&gt; Are you there?")
    forward = client.get("/compose?forward=1&folder=INBOX").get_data(as_text=True)
    assert "-- \nAlice L." in forward
    token = page_csrf(client, "/compose")
    text = with_signature("", "Alice L.\nhttps://alice.test")
    saved = client.post(
        "/compose", data={"csrf_token": token, "to": BOB, "text": text, "action": "draft"}
    )
    resumed = client.get(saved.headers["Location"]).get_data(as_text=True).replace("\r\n", "\n")
    assert resumed.count("-- \nAlice L.") == 1


@pytest.mark.parametrize(
    ("name", "signature", "error"),
    [
        ("x" * 101, "", "at most 100 characters"),
        ("Eve <eve@evil.test>", "", "may not contain"),
        ("Eve", "s" * 2001, "at most 2000 characters"),
    ],
)
def test_bad_identity_is_refused(
    client: FlaskClient, name: str, signature: str, error: str
) -> None:
    assert save_identity(client, name, signature) == 303
    page = client.get("/settings").get_data(as_text=True)
    assert error in page
    assert 'id="display_name" name="display_name" type="text" maxlength="100" value=""' in page


def test_identity_needs_csrf_and_login(client: FlaskClient) -> None:
    assert client.post("/settings/identity", data={"display_name": "X"}).status_code == 400
    client.post("/logout", data={"csrf_token": page_csrf(client, "/settings")})
    assert client.post("/settings/identity", data={"display_name": "X"}).status_code in (
        302,
        400,
        401,
    )
