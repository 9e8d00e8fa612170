"""Bulk actions from the message lists (read, unread, flag, move, archive, delete) and
the undo of a move or delete, all through the mailbox service."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient
from support.web import ALICE, page_csrf, raw_message

from mailrs.store.mailbox import MailboxService
from mailrs.store.maildir import MaildirStore

pytestmark = pytest.mark.web_app(config="[auth]\nbase_delay_secs = 0.0", logged_in=True)


def uids(store: MaildirStore, folder: str = "INBOX") -> list[int]:
    """The UIDs of a folder, as IMAP sees them."""
    with MailboxService(store, ALICE) as service:
        return [m.uid for m in service.messages(folder)]


def flags(store: MaildirStore, folder: str = "INBOX") -> list[str]:
    """The flag letters of each message of a folder, in UID order."""
    with MailboxService(store, ALICE) as service:
        return [m.flags for m in service.messages(folder)]


@pytest.fixture
def three(store: MaildirStore) -> list[int]:
    """Three messages in Alice's INBOX; their UIDs."""
    store.create_user(ALICE)
    for n in range(3):
        store.deliver(ALICE, raw_message(f"Item {n}", day=n + 1), mtime=1e9 + n)
    return uids(store)


def post(client: FlaskClient, path: str, **form: object) -> str:
    """POST a form with the CSRF token; the page it leads to."""
    data = {"csrf_token": page_csrf(client, "/"), **form}
    response = client.post(path, data=data, follow_redirects=True)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_data(as_text=True)


def test_the_list_has_checkboxes_and_a_toolbar(client: FlaskClient, three: list[int]) -> None:
    for view in ("list", "conversations"):
        html = client.get(f"/?view={view}").get_data(as_text=True)
        assert html.count('class="select" name="uid"') == 3
        assert 'value="archive"' in html and 'id="select-all"' in html and "mail.js" in html


def test_bulk_flags(client: FlaskClient, store: MaildirStore, three: list[int]) -> None:
    post(client, "/bulk", folder="INBOX", uid=[str(three[0]), str(three[2])], action="read")
    assert flags(store) == ["S", "", "S"]
    post(client, "/bulk", folder="INBOX", uid=f"{three[1]},{three[2]}", action="flag")
    assert flags(store) == ["S", "F", "FS"]
    html = post(client, "/bulk", folder="INBOX", uid=str(three[0]), action="unread")
    assert "1 message marked unread." in html
    post(client, "/bulk", folder="INBOX", uid=str(three[2]), action="unflag")
    assert flags(store) == ["", "F", "S"]


def test_move_archive_delete_and_undo(
    client: FlaskClient, store: MaildirStore, three: list[int]
) -> None:
    html = post(client, "/bulk", folder="INBOX", uid=[str(u) for u in three[:2]], action="archive")
    assert "2 messages moved to Archive." in html and "Undo" in html
    assert uids(store) == [three[2]] and len(uids(store, "Archive")) == 2
    token = re.search(r'name="token" value="([^"]+)"', html)
    assert token
    back = post(client, "/undo", token=token.group(1))
    assert "2 messages back in INBOX." in back
    assert len(uids(store)) == 3 and uids(store, "Archive") == []
    assert "can no longer be undone" in post(client, "/undo", token=token.group(1))
    current = uids(store)
    html = post(client, "/bulk", folder="INBOX", uid=str(current[0]), action="delete")
    assert "moved to Trash" in html and len(uids(store, "Trash")) == 1
    post(client, "/bulk", folder="INBOX", uid=str(current[1]), action="move", to="Junk")
    assert len(uids(store, "Junk")) == 1
    trash = uids(store, "Trash")
    html = post(client, "/bulk", folder="Trash", uid=str(trash[0]), action="delete")
    assert "deleted for good" in html and "Undo" not in html and uids(store, "Trash") == []


def test_bad_bulk_input_is_4xx(client: FlaskClient, three: list[int]) -> None:
    token = page_csrf(client, "/")

    def status(**form: object) -> int:
        return client.post("/bulk", data={"csrf_token": token, **form}).status_code

    assert status(folder="INBOX", action="read") == 400
    assert status(folder="INBOX", uid="abc", action="read") == 400
    assert status(folder="INBOX", uid=str(three[0]), action="explode") == 400
    assert status(folder="INBOX", uid="999", action="read") == 404
    assert status(folder="Nope", uid=str(three[0]), action="read") == 404
    assert status(folder="INBOX", uid=str(three[0]), action="move", to="Nowhere") == 404
    assert status(folder="INBOX", uid=str(three[0]), action="move", to="INBOX") == 400
    assert client.post("/bulk", data={"folder": "INBOX", "uid": "1"}).status_code == 400
