"""The admin area's domains with Flask's test client: the page and ``/api/admin/domains`` add
a domain (DKIM keys made), show the records to publish, rotate the key in three steps and
remove it; a non-admin gets 403 everywhere. The DNS check runs in the integration tier."""

from __future__ import annotations

import dns.zone
import pytest
from flask import Flask
from flask.testing import FlaskClient
from support.web import ALICE, BOB, api_token, log_in, page_csrf

from mailrs.accounts.users import set_admin
from mailrs.outbound.dkim_keys import dkim_dir

DOMAIN = "shop.example"


@pytest.fixture
def admin_app(app: Flask) -> Flask:
    """Alice is an admin."""
    with app.extensions["mailrs"].database.session() as session:
        set_admin(session, ALICE, True)
    return app


def test_domains_pages_add_show_rotate_and_remove(admin_app: Flask, client: FlaskClient) -> None:
    log_in(client, ALICE)
    listing = client.get("/admin/domains").get_data(as_text=True)
    assert 'data-domain="example.test"' in listing  # the users' domain, not set up yet
    assert "none (not set up)" in listing
    token = page_csrf(client, "/admin/domains")

    def post(path: str, **form: str) -> tuple[int, str]:
        response = client.post(path, data={"csrf_token": token, **form})
        return response.status_code, response.headers.get("Location", "")

    assert post("/admin/domains", name="Shop.Example.") == (303, f"/admin/domains/{DOMAIN}")
    page = client.get(f"/admin/domains/{DOMAIN}").get_data(as_text=True)
    assert "is set up: publish these records" in page
    zone_text = page.split('<pre id="zone" class="zone">')[1].split("</pre>")[0]
    zone = dns.zone.from_text(zone_text.replace("&#34;", '"'), check_origin=False)
    names = {str(name) for name, _ in zone.iterate_rdatasets()}
    selector = next(n for n in names if n.endswith("-rsa._domainkey")).split("-rsa.")[0]
    assert {"@", "_dmarc", "_mta-sts", f"{selector}-ed25519._domainkey"} <= names
    assert "the MX host needs an IPv4/IPv6 address" in page
    keys = dkim_dir(admin_app.extensions["mailrs"].settings, DOMAIN)
    assert sorted(p.name for p in keys.iterdir()) == [
        f"{selector}.ed25519.pem",
        f"{selector}.rsa.pem",
    ]

    assert post(f"/admin/domains/{DOMAIN}/start")[0] == 303
    page = client.get(f"/admin/domains/{DOMAIN}").get_data(as_text=True)
    new = page.split('id="next-selector">')[1].split("<")[0]
    assert new != selector and f"{new}-rsa._domainkey" in page
    assert post(f"/admin/domains/{DOMAIN}/start")[0] == 303  # refused: flashed, nothing made
    assert "is under way; activate it first" in client.get(f"/admin/domains/{DOMAIN}").get_data(
        as_text=True
    )
    assert post(f"/admin/domains/{DOMAIN}/activate", force="on")[0] == 303
    page = client.get(f"/admin/domains/{DOMAIN}").get_data(as_text=True)
    assert f'id="selector">{new}<' in page and f'id="old-selector">{selector}<' in page
    assert post(f"/admin/domains/{DOMAIN}/retire")[0] == 303
    page = client.get(f"/admin/domains/{DOMAIN}").get_data(as_text=True)
    assert f"remove {selector}-rsa._domainkey and" in page  # the flashed instruction
    assert f"{selector}-rsa._domainkey.{DOMAIN}." not in page  # no longer in the records
    assert 'id="old-selector"' not in page
    assert not (keys / f"{selector}.rsa.pem").exists()

    assert post(f"/admin/domains/{DOMAIN}/explode")[0] == 404
    assert post("/admin/domains/nowhere.example/start")[0] == 404
    assert client.get("/admin/domains/nowhere.example").status_code == 404
    assert post("/admin/domains", name="not a domain")[1] == "/admin/domains"
    assert "not a domain name" in client.get("/admin/domains").get_data(as_text=True)
    assert post("/admin/domains/example.test/remove")[1] == "/admin/domains/example.test"
    assert "still has 2 user(s)" in client.get("/admin/domains/example.test").get_data(as_text=True)
    assert post(f"/admin/domains/{DOMAIN}/remove") == (303, "/admin/domains")
    assert f'data-domain="{DOMAIN}"' not in client.get("/admin/domains").get_data(as_text=True)
    assert not keys.exists()


def test_domains_api(admin_app: Flask, client: FlaskClient) -> None:
    headers = api_token(client, ALICE)

    def call(method: str, path: str, body: object = None) -> tuple[int, dict]:
        response = client.open(path, method=method, headers=headers, json=body)
        return response.status_code, response.get_json()

    status, body = call("POST", "/api/admin/domains", {"name": DOMAIN})
    assert status == 201 and body["name"] == DOMAIN and body["users"] == 0
    first = body["dkim_selector"]
    types = {(r["name"], r["type"]) for r in body["records"]}
    assert ("@", "MX") in types and (f"{first}-rsa._domainkey", "TXT") in types
    assert ("autoconfig", "CNAME") in types and ("_imaps._tcp", "SRV") in types
    assert body["zone"].startswith(f"$ORIGIN {DOMAIN}.")
    assert [h["type"] for h in body["hosts"]] == ["A"]
    listed = {d["name"]: d for d in call("GET", "/api/admin/domains")[1]["domains"]}
    assert listed[DOMAIN]["dkim_selector"] == first
    assert listed["example.test"]["users"] == 2

    status, body = call("POST", f"/api/admin/domains/{DOMAIN}/dkim", {"step": "start"})
    nxt = body["dkim_next_selector"]
    assert status == 200 and nxt and "publish its two records" in body["result"]
    status, body = call(
        "POST", f"/api/admin/domains/{DOMAIN}/dkim", {"step": "activate", "force": True}
    )
    assert (status, body["dkim_selector"], body["dkim_old_selector"]) == (200, nxt, first)
    status, body = call("POST", f"/api/admin/domains/{DOMAIN}/dkim", {"step": "retire"})
    assert status == 200 and body["dkim_old_selector"] is None
    assert call("POST", f"/api/admin/domains/{DOMAIN}/dkim", {"step": "retire"})[0] == 400
    assert call("POST", f"/api/admin/domains/{DOMAIN}/dkim", {"step": "dance"})[0] == 400
    assert call("POST", f"/api/admin/domains/{DOMAIN}/dkim", {})[0] == 400
    assert call("POST", "/api/admin/domains", {"name": "bad name"})[0] == 400
    assert call("POST", "/api/admin/domains", {"name": 7})[0] == 400
    assert call("GET", "/api/admin/domains/nowhere.example")[0] == 404
    assert call("GET", "/api/admin/domains/nowhere.example/check")[0] == 404
    assert call("DELETE", "/api/admin/domains/example.test")[0] == 400  # users left
    assert call("DELETE", f"/api/admin/domains/{DOMAIN}") == (200, {"deleted": DOMAIN})
    assert call("DELETE", f"/api/admin/domains/{DOMAIN}")[0] == 404
    spec = client.get("/api/openapi.json").get_json()
    for path in ("/api/admin/domains", "/api/admin/domains/{name}/dkim"):
        assert path in spec["paths"], path
    assert "AdminDkim" in spec["components"]["schemas"]


def test_domains_are_for_admins_only(admin_app: Flask, client: FlaskClient) -> None:
    log_in(client, BOB)
    for path in ("/admin/domains", "/admin/domains/example.test"):
        assert client.get(path).status_code == 403, path
    token = page_csrf(client, "/settings")
    for path in ("/admin/domains", "/admin/domains/example.test/start"):
        response = client.post(path, data={"csrf_token": token, "name": DOMAIN})
        assert response.status_code == 403, path
    headers = api_token(client, BOB)
    for method, path in [
        ("GET", "/api/admin/domains"),
        ("POST", "/api/admin/domains"),
        ("GET", "/api/admin/domains/example.test"),
        ("GET", "/api/admin/domains/example.test/check"),
        ("POST", "/api/admin/domains/example.test/dkim"),
        ("DELETE", "/api/admin/domains/example.test"),
    ]:
        response = client.open(path, method=method, headers=headers, json={"name": DOMAIN})
        assert response.status_code == 403 and response.is_json, (method, path)
