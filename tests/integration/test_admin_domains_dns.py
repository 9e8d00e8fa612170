"""The admin area's DNS check and DKIM activation against a loopback DNS server: what a new
domain lacks, all in place once its records are published, and an activation refused until
DNS shows the new keys (the web app's resolver is pointed at the server by ``[relay]``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from support.dns import DnsServer
from support.web import ALICE, api_token, append_config, build_app, log_in
from test_domain_cli import zone_lines

from mailrs.accounts.users import set_admin

DOMAIN = "example.com"


@pytest.fixture
def dns_server() -> Iterator[DnsServer]:
    """An empty zone to start with."""
    with DnsServer([]) as server:
        yield server


@pytest.fixture
def app(config_path: Path, dns_server: DnsServer) -> Iterator[Flask]:
    """The web app with Alice as its admin, resolving through the test DNS server."""
    append_config(
        config_path,
        f'[public]\nmail_host = "mail.{DOMAIN}"\n[relay]\ndns_servers = ["{dns_server.address}"]',
    )
    app = build_app(config_path)
    with app.extensions["mailrs"].database.session() as session:
        set_admin(session, ALICE, True)
    yield app
    app.extensions["mailrs"].database.dispose()


def test_check_and_activation_follow_what_dns_shows(app: Flask, dns_server: DnsServer) -> None:
    client: FlaskClient = app.test_client()
    headers = api_token(client, ALICE)

    def call(method: str, path: str, body: object = None) -> tuple[int, dict]:
        response = client.open(path, method=method, headers=headers, json=body)
        return response.status_code, response.get_json()

    status, added = call("POST", "/api/admin/domains", {"name": DOMAIN})
    assert status == 201
    status, check = call("GET", f"/api/admin/domains/{DOMAIN}/check")
    assert status == 200 and not check["ok"] and check["bad"] == len(check["findings"]) == 14
    assert {f["state"] for f in check["findings"]} == {"missing"}

    dns_server.add([*zone_lines(added["zone"]), f"mail.{DOMAIN}. A 192.0.2.25"])
    status, check = call("GET", f"/api/admin/domains/{DOMAIN}/check")
    assert (status, check["ok"], check["bad"]) == (200, True, 0), check
    address = next(f for f in check["findings"] if f["type"] == "A")
    assert (address["fqdn"], address["detail"]) == (f"mail.{DOMAIN}.", "192.0.2.25")

    status, started = call("POST", f"/api/admin/domains/{DOMAIN}/dkim", {"step": "start"})
    new = started["dkim_next_selector"]
    status, refused = call("POST", f"/api/admin/domains/{DOMAIN}/dkim", {"step": "activate"})
    assert status == 400 and "DNS does not show the new keys yet" in refused["error"]
    assert f"{new}-rsa._domainkey.{DOMAIN}." in refused["error"]
    status, check = call("GET", f"/api/admin/domains/{DOMAIN}/check")
    assert check["bad"] == 2  # the next selector's two keys
    new_lines = [line for line in zone_lines(started["zone"]) if line.startswith(new)]
    assert len(new_lines) == 2
    dns_server.add(new_lines)
    status, active = call("POST", f"/api/admin/domains/{DOMAIN}/dkim", {"step": "activate"})
    assert (status, active["dkim_selector"]) == (200, new), active

    log_in(client, ALICE)
    page = client.get(f"/admin/domains/{DOMAIN}?check=1").get_data(as_text=True)
    assert "All 16 records are in place." in page  # the old selector is still published
    assert 'class="finding-missing"' not in page and 'class="finding-wrong"' not in page
