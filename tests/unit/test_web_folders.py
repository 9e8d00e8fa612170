"""Folders from the web: create, rename and delete through the mailbox service, with
IMAP's rules (parents created, INBOX never deleted, names checked)."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from support.web import ALICE, page_csrf, raw_message

from mailrs.store.mailbox import MailboxService
from mailrs.store.maildir import MaildirStore

pytestmark = pytest.mark.web_app(config="[auth]\nbase_delay_secs = 0.0", logged_in=True)


def folder_names(store: MaildirStore) -> list[str]:
    """The folders as the mailbox service (and so IMAP LIST) sees them."""
    with MailboxService(store, ALICE) as service:
        return service.list_folders()


def send(client: FlaskClient, path: str, **form: str) -> int:
    """POST a form with the CSRF token; the status."""
    data = {"csrf_token": page_csrf(client, "/folders"), **form}
    return client.post(path, data=data).status_code


def test_create_rename_delete(client: FlaskClient, store: MaildirStore) -> None:
    store.create_user(ALICE)
    page = client.get("/folders")
    assert page.status_code == 200 and "New folder" in page.get_data(as_text=True)
    assert send(client, "/folders", name="Projects/Phoenix") == 302
    assert {"Projects", "Projects/Phoenix"} <= set(folder_names(store))
    assert "Folder Projects/Phoenix created." in client.get("/folders").get_data(as_text=True)
    store.deliver(ALICE, raw_message("Plan"), "Projects/Phoenix")
    assert send(client, "/folders/rename", folder="Projects", name="Work") == 302
    names = folder_names(store)
    assert "Work/Phoenix" in names and "Projects" not in names
    with MailboxService(store, ALICE) as service:
        assert len(service.messages("Work/Phoenix")) == 1
    assert send(client, "/folders/delete", folder="Work/Phoenix") == 302
    assert "Work/Phoenix" not in folder_names(store) and "Work" in folder_names(store)
    assert client.get("/?folder=Work").status_code == 200


def test_folder_rules_give_4xx(client: FlaskClient, store: MaildirStore) -> None:
    store.create_user(ALICE)
    assert send(client, "/folders", name="") == 400
    assert send(client, "/folders", name="Archive") == 400  # exists
    assert send(client, "/folders", name="../etc") == 400
    assert send(client, "/folders", name="x" * 300) == 400
    assert send(client, "/folders/delete", folder="INBOX") == 400
    assert send(client, "/folders/delete", folder="Nope") == 404
    assert send(client, "/folders/rename", folder="Nope", name="Other") == 404
    assert send(client, "/folders/rename", folder="Archive", name="Sent") == 400
    assert send(client, "/folders/rename", folder="Archive", name="Archive") == 400
    assert client.post("/folders", data={"name": "NoToken"}).status_code == 400
    assert "NoToken" not in folder_names(store)
