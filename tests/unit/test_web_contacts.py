"""Contacts: collected from mail exchanged (senders received, recipients sent), saved,
edited and deleted on the contacts page, vCard import/export, and address completion."""

from __future__ import annotations

import io

import pytest
import vobject
from flask import Flask
from flask.testing import FlaskClient
from support.web import ALICE, BOB, log_in, page_csrf, raw_message

from mailrs.accounts.contacts import list_contacts
from mailrs.accounts.users import delete_user, find_user
from mailrs.store.mailbox import MailboxService
from mailrs.store.maildir import MaildirStore

pytestmark = pytest.mark.web_app(config="[auth]\nbase_delay_secs = 0.0", logged_in=True)

VCARDS = (
    "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Zoé Martin\r\nEMAIL;TYPE=work:zoe@work.test\r\n"
    "EMAIL:zoe@home.test\r\nTEL:+33 1 23 45 67 89\r\nNOTE:met in Lyon\r\nEND:VCARD\r\n"
    "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:No Address\r\nTEL:123\r\nEND:VCARD\r\n"
    "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Stone;Bob;;;\r\nEMAIL:bob.stone@remote.test\r\nEND:VCARD\r\n"
)


def post(client: FlaskClient, path: str, **form: object) -> int:
    """POST a form with the CSRF token; the status."""
    data = {"csrf_token": page_csrf(client, "/contacts"), **form}
    return client.post(path, data=data, content_type="multipart/form-data").status_code


def completion(client: FlaskClient, prefix: str) -> list[str]:
    """The labels the compose fields would offer for ``prefix``."""
    response = client.get(f"/contacts/complete?q={prefix}")
    assert response.status_code == 200
    return [c["label"] for c in response.get_json()["contacts"]]


def owner(app: Flask) -> str:
    """Alice's never-reused uid."""
    with app.extensions["mailrs"].database.session() as session:
        user = find_user(session, ALICE)
        assert user is not None
        return user.uid


def test_collected_from_mail_received_and_sent(client: FlaskClient, store: MaildirStore) -> None:
    store.create_user(ALICE)
    store.deliver(ALICE, raw_message("Hi", sender="Carol Jones <carol@remote.test>"))
    store.deliver(ALICE, raw_message("Again", sender="Carol Jones <carol@remote.test>", day=2))
    store.deliver(ALICE, raw_message("Robot", sender="Shop <noreply@shop.test>"))
    store.deliver(ALICE, raw_message("Spam", sender="Spammer <spam@junk.test>"), "Junk")
    sent = (
        f"From: {ALICE}\r\nTo: Dan Brown <dan@remote.test>, {ALICE}\r\nCc: erin@remote.test\r\n"
        "Bcc: Frank <frank@remote.test>\r\nSubject: Plans\r\n\r\nSee you.\r\n"
    ).encode()
    with MailboxService(store, ALICE) as service:
        service.append("Sent", sent, "S")
    page = client.get("/contacts").get_data(as_text=True)
    for present in ("carol@remote.test", "Carol Jones", "dan@remote.test", "erin@remote.test"):
        assert present in page
    assert "frank@remote.test" in page  # Bcc of the Sent copy
    assert "noreply@shop.test" not in page and "spam@junk.test" not in page
    assert ALICE not in page.split("<main", 1)[1]  # never the user themself
    assert completion(client, "car") == ["Carol Jones <carol@remote.test>"]
    assert completion(client, "jon") == ["Carol Jones <carol@remote.test>"]  # a word of the name
    assert completion(client, "zz") == [] and completion(client, "") == []
    assert completion(client, "%") == []  # LIKE wildcards are literal
    # a second visit reads only the new mail: Carol's count goes from 2 to 3
    store.deliver(ALICE, raw_message("Third", sender="Carol Jones <carol@remote.test>", day=3))
    client.get("/compose")
    with client.application.extensions["mailrs"].database.session() as session:
        rows = {c.email: c for c in list_contacts(session, owner(client.application))}
    assert rows["carol@remote.test"].times == 3 and not rows["carol@remote.test"].saved


def test_add_edit_delete(app: Flask, client: FlaskClient) -> None:
    form = {"name": "Maria Rossi", "email": "Maria@Example.ORG", "phone": "+39"}
    assert post(client, "/contacts", **form) == 302
    page = client.get("/contacts").get_data(as_text=True)
    assert "Contact Maria Rossi &lt;maria@example.org&gt; saved." in page
    with app.extensions["mailrs"].database.session() as session:
        (maria,) = list_contacts(session, owner(app))
    assert maria.saved and maria.email == "maria@example.org" and maria.phone == "+39"
    assert "Edit Maria Rossi" in client.get(f"/contacts?edit={maria.id}").get_data(as_text=True)
    assert post(client, f"/contacts/{maria.id}", name="Maria R.", email="maria@rossi.test") == 302
    assert completion(client, "maria") == ["Maria R. <maria@rossi.test>"]
    assert post(client, "/contacts", email="not an address") == 303
    assert "not an email address" in client.get("/contacts").get_data(as_text=True)
    assert post(client, "/contacts/99999", email="x@y.test") == 404
    assert post(client, f"/contacts/{maria.id}/delete") == 302
    assert completion(client, "maria") == []
    assert post(client, f"/contacts/{maria.id}/delete") == 404
    assert client.post("/contacts", data={"email": "a@b.test"}).status_code == 400  # no CSRF


def test_contacts_are_per_user(app: Flask, client: FlaskClient) -> None:
    assert post(client, "/contacts", name="Secret", email="secret@remote.test") == 302
    with app.extensions["mailrs"].database.session() as session:
        (secret,) = list_contacts(session, owner(app))
    other = log_in(app.test_client(), BOB)
    assert completion(other, "secret") == []
    assert post(other, f"/contacts/{secret.id}/delete") == 404
    assert post(other, f"/contacts/{secret.id}", email="x@y.test") == 404
    assert completion(client, "secret") == ["Secret <secret@remote.test>"]
    alice = owner(app)
    with app.extensions["mailrs"].database.session() as session:
        delete_user(session, app.extensions["mailrs"].store, ALICE)
        assert list_contacts(session, alice) == []  # removing the account removes its contacts


def test_vcard_import_and_export(client: FlaskClient) -> None:
    data = {"vcards": (io.BytesIO(VCARDS.encode()), "people.vcf")}
    assert post(client, "/contacts/import", **data) == 302
    page = client.get("/contacts").get_data(as_text=True)
    assert "3 contacts imported. 1 skipped (no valid address)." in page
    assert completion(client, "zoe@h") == ["Zoé Martin <zoe@home.test>"]
    assert completion(client, "stone") == ["Bob Stone <bob.stone@remote.test>"]
    exported = client.get("/contacts/export.vcf")
    assert exported.status_code == 200 and exported.mimetype == "text/vcard"
    cards = list(vobject.readComponents(exported.get_data(as_text=True)))
    by_mail = {c.email.value: c for c in cards}
    assert set(by_mail) == {"zoe@work.test", "zoe@home.test", "bob.stone@remote.test"}
    assert by_mail["zoe@work.test"].fn.value == "Zoé Martin"
    assert by_mail["zoe@work.test"].tel.value == "+33 1 23 45 67 89"
    assert by_mail["zoe@work.test"].note.value == "met in Lyon"
    # importing the export again changes nothing
    again = {"vcards": (io.BytesIO(exported.get_data()), "contacts.vcf")}
    assert post(client, "/contacts/import", **again) == 302
    assert client.get("/contacts/export.vcf").get_data() == exported.get_data()


@pytest.mark.parametrize(
    "content", [b"", b"hello world", b"BEGIN:VCARD\r\nFN:x\r\n", b"\xff\xfe\x00garbage"]
)
def test_bad_vcard_files_are_refused(client: FlaskClient, content: bytes) -> None:
    data = {"vcards": (io.BytesIO(content), "bad.vcf")}
    assert post(client, "/contacts/import", **data) in (302, 303)
    page = client.get("/contacts").get_data(as_text=True)
    assert "Nothing imported" in page or "Choose a vCard file" in page
    assert "No contacts yet." in page


def test_compose_prefills_to(client: FlaskClient) -> None:
    page = client.get("/compose?to=Maria <maria@example.org>").get_data(as_text=True)
    assert 'value="Maria &lt;maria@example.org&gt;"' in page
    assert 'data-complete-url="/contacts/complete"' in page
