"""The admin area with Flask's test client: every page and every /api/admin operation works
for an admin and answers 403 to a non-admin (Bob), whether by session or Bearer token."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from support.web import ALICE, BOB, api_token, log_in, page_csrf

from mailrs.accounts.aliases import add_alias
from mailrs.accounts.users import find_user, set_admin
from mailrs.db.models import LoginEvent, Message, MessageEvent, utcnow
from mailrs.inbound.dmarc_reports import parse_report, store_report
from mailrs.queue.spool import new_queue_id
from mailrs.queue.states import MessageState

CAROL = "carol@example.test"
PAGES = [
    "/admin/users",
    "/admin/aliases",
    "/admin/queue",
    "/admin/pipeline",
    "/admin/logins",
    "/admin/dmarc",
]


@pytest.fixture
def queued(app: Flask) -> str:
    """A queued message with a little history; alice is the admin, an alias exists."""
    database = app.extensions["mailrs"].database
    queue_id = new_queue_id()
    with database.session() as session:
        set_admin(session, ALICE, True)
        add_alias(session, "team@example.test", BOB)
        message = Message(queue_id=queue_id, mail_from="x@remote.test", size=42)
        message.state = MessageState.RECEIVED
        session.add(message)
        session.flush()
        session.add(MessageEvent(message_id=message.id, stage="validated", detail="ok"))
        session.add(MessageEvent(message_id=message.id, stage="deferred", detail="451 later"))
        session.add(LoginEvent(address=BOB, client_addr="192.0.2.9", via="web", outcome="failed"))
        session.commit()
    return queue_id


def test_admin_pages_for_the_admin(client: FlaskClient, queued: str) -> None:
    log_in(client, ALICE)
    assert b'id="admin-link"' in client.get("/settings").data
    for path in PAGES:
        page = client.get(path)
        assert page.status_code == 200, path
        assert page.headers["Cache-Control"] == "no-store"
    users = client.get("/admin/users").get_data(as_text=True)
    assert BOB in users and "unlimited" in users
    assert "team@example.test" in client.get("/admin/aliases").get_data(as_text=True)
    assert queued in client.get("/admin/queue").get_data(as_text=True)
    detail = client.get(f"/admin/queue/{queued}").get_data(as_text=True)
    assert "451 later" in detail and "received" in detail
    pipeline = client.get("/admin/pipeline").get_data(as_text=True)
    assert re.search(r"<td>deferred</td><td>1</td>", pipeline)
    assert "192.0.2.9" in client.get("/admin/logins").get_data(as_text=True)
    assert client.get("/admin/queue/NOTAQUEUEID").status_code == 404


def test_admin_dmarc_page_shows_the_imported_reports(app: Flask, client: FlaskClient) -> None:
    database = app.extensions["mailrs"].database
    report = (
        b"<feedback><report_metadata><org_name>acme.test</org_name><email>r@acme.test</email>"
        b"<report_id>rep-77</report_id><date_range><begin>1764547200</begin>"
        b"<end>1764633599</end></date_range></report_metadata><policy_published>"
        b"<domain>example.test</domain><p>reject</p></policy_published><record><row>"
        b"<source_ip>198.51.100.23</source_ip><count>12</count><policy_evaluated>"
        b"<disposition>reject</disposition><dkim>fail</dkim><spf>fail</spf>"
        b"</policy_evaluated></row><identifiers><header_from>example.test</header_from>"
        b"</identifiers></record></feedback>"
    )
    with database.session() as session:
        set_admin(session, ALICE, True)
        store_report(session, parse_report(report))
        session.commit()
    log_in(client, ALICE)
    page = client.get("/admin/dmarc").get_data(as_text=True)
    assert "example.test (p=reject) from acme.test" in page and "rep-77" in page
    assert re.search(r"<td>198\.51\.100\.23</td><td>12</td><td>reject</td>", page)
    assert "rep-77" not in client.get("/admin/dmarc?domain=other.test").get_data(as_text=True)


def test_admin_forms_change_things(app: Flask, client: FlaskClient, queued: str) -> None:
    log_in(client, ALICE)
    token = page_csrf(client, "/admin/users")

    def post(path: str, **form: str) -> int:
        return client.post(path, data={"csrf_token": token, **form}).status_code

    assert post("/admin/users", email=CAROL, password="carol password 3", quota="1G") == 303
    assert post(f"/admin/users/{BOB}/quota", quota="2G") == 303
    assert post(f"/admin/users/{BOB}/disable") == 303
    assert post(f"/admin/users/{BOB}/password", password="a new password 9") == 303
    assert post(f"/admin/users/{CAROL}/admin-on") == 303
    assert post("/admin/aliases", source="sales@example.test", destination=CAROL) == 303
    assert post("/admin/aliases/delete", source="team@example.test", destination=BOB) == 303
    assert post(f"/admin/users/{BOB}/unknown-action") == 404
    assert post("/admin/users/nobody@example.test/disable") == 404
    assert post(f"/admin/queue/{queued}/delete") == 303
    assert post(f"/admin/queue/{queued}/retry") == 404
    users = client.get("/admin/users").get_data(as_text=True)
    assert "2.0 GiB" in users and "1.0 GiB" in users and "disabled" in users
    with app.extensions["mailrs"].database.session() as session:
        carol = find_user(session, CAROL)
        assert carol is not None and carol.is_admin and carol.quota_bytes == 1024**3
        assert session.get(Message, 1) is None
    aliases = client.get("/admin/aliases").get_data(as_text=True)
    assert "sales@example.test" in aliases and "team@example.test" not in aliases
    assert post(f"/admin/users/{CAROL}/delete") == 303
    assert f'data-address="{CAROL}"' not in client.get("/admin/users").get_data(as_text=True)
    bad = client.post("/admin/users", data={"csrf_token": token, "email": "x", "password": "p"})
    assert bad.status_code == 303  # back to the page with the error flashed
    assert "error" in client.get("/admin/users").get_data(as_text=True)


def test_non_admin_gets_403_everywhere(client: FlaskClient, queued: str) -> None:
    assert client.get("/admin/users").status_code == 302  # not logged in: to the login page
    log_in(client, BOB)
    assert b'id="admin-link"' not in client.get("/settings").data
    for path in [*PAGES, f"/admin/queue/{queued}", "/admin/"]:
        assert client.get(path).status_code == 403, path
    token = page_csrf(client, "/settings")
    for path in ["/admin/users", f"/admin/users/{ALICE}/disable", f"/admin/queue/{queued}/delete"]:
        assert client.post(path, data={"csrf_token": token}).status_code == 403, path
    headers = api_token(client, BOB)
    for method, path in API_CALLS:
        response = client.open(path.format(qid=queued), method=method, headers=headers, json={})
        assert response.status_code == 403, (method, path)
        assert response.is_json


API_CALLS = [
    ("GET", "/api/admin/users"),
    ("POST", "/api/admin/users"),
    ("PATCH", f"/api/admin/users/{ALICE}"),
    ("DELETE", f"/api/admin/users/{ALICE}"),
    ("GET", "/api/admin/aliases"),
    ("POST", "/api/admin/aliases"),
    ("DELETE", "/api/admin/aliases?source=team@example.test"),
    ("GET", "/api/admin/queue"),
    ("GET", "/api/admin/queue/{qid}"),
    ("POST", "/api/admin/queue/{qid}/retry"),
    ("DELETE", "/api/admin/queue/{qid}"),
    ("GET", "/api/admin/pipeline"),
    ("GET", "/api/admin/logins"),
]


def test_admin_api(app: Flask, client: FlaskClient, queued: str) -> None:
    headers = api_token(client, ALICE)

    def call(method: str, path: str, body: object = None) -> tuple[int, dict]:
        response = client.open(path, method=method, headers=headers, json=body)
        return response.status_code, response.get_json()

    status, body = call("GET", "/api/admin/users")
    assert status == 200 and {u["address"] for u in body["users"]} == {ALICE, BOB}
    assert call("POST", "/api/admin/users", {"email": CAROL, "password": "carol pass 33"})[0] == 201
    status, body = call("PATCH", f"/api/admin/users/{CAROL}", {"quota": "5M", "disabled": True})
    assert (status, body) == (200, {"address": CAROL})
    carol = next(u for u in call("GET", "/api/admin/users")[1]["users"] if u["address"] == CAROL)
    assert carol["quota_bytes"] == 5 * 1024**2 and carol["disabled"] is True
    assert call("PATCH", f"/api/admin/users/{CAROL}", {"quota": "lots"})[0] == 400
    assert call("PATCH", f"/api/admin/users/{CAROL}", {"colour": "red"})[0] == 400
    assert call("PATCH", f"/api/admin/users/{CAROL}", {"disabled": "yes"})[0] == 400
    assert call("PATCH", "/api/admin/users/nobody@example.test", {"disabled": True})[0] == 404
    assert call("POST", "/api/admin/users", {"email": 5, "password": "x"})[0] == 400
    assert call("POST", "/api/admin/users", ["not", "an", "object"])[0] == 400
    status, body = call("DELETE", f"/api/admin/users/{CAROL}?purge=1")
    assert (status, body) == (200, {"deleted": CAROL})

    alias = {"source": "sales@example.test", "destination": BOB}
    assert call("POST", "/api/admin/aliases", alias) == (201, alias)
    assert alias in call("GET", "/api/admin/aliases")[1]["aliases"]
    assert call("POST", "/api/admin/aliases", {"source": "a b", "destination": BOB})[0] == 400
    status, body = call("DELETE", "/api/admin/aliases?source=sales@example.test")
    assert (status, body) == (200, {"deleted": 1})
    assert call("DELETE", "/api/admin/aliases?source=sales@example.test")[0] == 404

    status, body = call("GET", "/api/admin/queue")
    assert [m["queue_id"] for m in body["messages"]] == [queued]
    status, body = call("GET", f"/api/admin/queue/{queued}")
    assert [e["stage"] for e in body["history"]] == ["validated", "deferred"]
    assert call("GET", "/api/admin/queue/NOPE")[0] == 404
    status, body = call("GET", "/api/admin/pipeline?hours=2")
    assert body["window_hours"] == 2 and body["queued"] == 1 and body["failures"] == 1
    assert {s["stage"] for s in body["stages"]} == {"validated", "deferred"}
    assert body["flower_url"] == ""
    status, body = call("GET", "/api/admin/logins?limit=5")
    assert [(e["address"], e["outcome"]) for e in body["events"]][:2] == [
        (ALICE, "ok"),  # the token request
        (BOB, "failed"),
    ]
    status, body = call("POST", f"/api/admin/queue/{queued}/retry")
    assert (status, body) == (200, {"queue_id": queued, "result": "sent to the workers"})
    assert call("DELETE", f"/api/admin/queue/{queued}") == (200, {"deleted": queued})
    assert call("POST", f"/api/admin/queue/{queued}/retry")[0] == 404
    assert call("GET", "/api/admin/queue")[1]["messages"] == []


def test_admin_api_by_session_needs_csrf(client: FlaskClient, queued: str) -> None:
    log_in(client, ALICE)
    assert client.get("/api/admin/users").status_code == 200
    refused = client.patch(f"/api/admin/users/{BOB}", json={"disabled": True})
    assert refused.status_code == 400 and "CSRF" in refused.get_json()["error"]
    token = page_csrf(client, "/admin/users")
    allowed = client.patch(
        f"/api/admin/users/{BOB}", json={"disabled": True}, headers={"X-CSRFToken": token}
    )
    assert allowed.status_code == 200


def test_withdrawn_admin_role_applies_at_once(app: Flask, client: FlaskClient) -> None:
    database = app.extensions["mailrs"].database
    with database.session() as session:
        set_admin(session, ALICE, True)
    log_in(client, ALICE)
    assert client.get("/admin/users").status_code == 200
    with database.session() as session:
        set_admin(session, ALICE, False)
    assert client.get("/admin/users").status_code == 403
    assert utcnow()  # the clock the audit uses is aware UTC
