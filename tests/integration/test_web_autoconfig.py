"""Client set-up from the web app: Thunderbird autoconfig, Outlook autodiscover, the Apple
profile and the MTA-STS policy, each checked against the config it was built from."""

from __future__ import annotations

import plistlib
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from support.web import ALICE, append_config, build_app

PUBLIC = """
[public]
mail_host = "mail.example.test"
imaps_port = 993
submission_port = 587
submissions_port = 465
mta_sts_mode = "enforce"
"""
AUTODISCOVER = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">'
    "<Request><EMailAddress>{address}</EMailAddress>"
    "<AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/"
    "responseschema/2006a</AcceptableResponseSchema></Request></Autodiscover>"
)
OUTLOOK = "{http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a}"


@pytest.fixture
def app(config_path: Path) -> Iterator[Flask]:
    """An app whose public mail host and ports are set in [public]."""
    append_config(config_path, PUBLIC)
    app = build_app(config_path)
    yield app
    app.extensions["mailrs"].database.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client."""
    return app.test_client()


@pytest.mark.parametrize(
    "path", ["/mail/config-v1.1.xml", "/.well-known/autoconfig/mail/config-v1.1.xml"]
)
def test_thunderbird_autoconfig_matches_the_config(client: FlaskClient, path: str) -> None:
    response = client.get(path, query_string={"emailaddress": ALICE})
    assert response.status_code == 200
    assert response.mimetype == "application/xml"
    root = ET.fromstring(response.data)
    assert root.tag == "clientConfig" and root.get("version") == "1.1"
    provider = root.find("emailProvider")
    assert provider is not None and provider.findtext("domain") == "example.test"
    incoming = provider.find("incomingServer")
    assert incoming is not None and incoming.get("type") == "imap"
    assert incoming.findtext("hostname") == "mail.example.test"
    assert incoming.findtext("port") == "993" and incoming.findtext("socketType") == "SSL"
    assert incoming.findtext("username") == "%EMAILADDRESS%"
    outgoing = {
        (o.findtext("port"), o.findtext("socketType")) for o in provider.findall("outgoingServer")
    }
    assert outgoing == {("465", "SSL"), ("587", "STARTTLS")}


def test_autoconfig_by_host_name_and_refusals(client: FlaskClient) -> None:
    by_host = client.get("/mail/config-v1.1.xml", headers={"Host": "autoconfig.example.test"})
    assert by_host.status_code == 200
    assert ET.fromstring(by_host.data).findtext("emailProvider/domain") == "example.test"
    other = client.get("/mail/config-v1.1.xml", query_string={"emailaddress": "x@other.test"})
    assert other.status_code == 404
    bad = client.get("/mail/config-v1.1.xml", query_string={"emailaddress": "not an address"})
    assert bad.status_code == 400


def test_outlook_autodiscover_answers_xml(client: FlaskClient) -> None:
    body = AUTODISCOVER.format(address=ALICE)
    response = client.post("/autodiscover/autodiscover.xml", data=body, content_type="text/xml")
    assert response.status_code == 200
    root = ET.fromstring(response.data)
    account = root.find(f"{OUTLOOK}Response/{OUTLOOK}Account")
    assert account is not None
    protocols = {
        p.findtext(f"{OUTLOOK}Type"): (
            p.findtext(f"{OUTLOOK}Server"),
            p.findtext(f"{OUTLOOK}Port"),
            p.findtext(f"{OUTLOOK}SSL"),
            p.findtext(f"{OUTLOOK}LoginName"),
        )
        for p in account.findall(f"{OUTLOOK}Protocol")
    }
    assert protocols == {
        "IMAP": ("mail.example.test", "993", "on", ALICE),
        "SMTP": ("mail.example.test", "465", "on", ALICE),
    }


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not xml at all <",
        b"<Autodiscover><Request></Request></Autodiscover>",
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>',
        AUTODISCOVER.format(address="no-at-sign").encode(),
        b"<a>" + b"x" * 20000 + b"</a>",
    ],
)
def test_autodiscover_bad_bodies_are_400(client: FlaskClient, body: bytes) -> None:
    response = client.post("/autodiscover/autodiscover.xml", data=body, content_type="text/xml")
    assert response.status_code == 400


def test_autodiscover_for_another_domain_is_404(client: FlaskClient) -> None:
    body = AUTODISCOVER.format(address="someone@elsewhere.test")
    response = client.post("/autodiscover/autodiscover.xml", data=body, content_type="text/xml")
    assert response.status_code == 404


def test_apple_profile_is_a_plist_with_one_imap_account(client: FlaskClient) -> None:
    response = client.get("/apple/mailrs.mobileconfig", query_string={"email": ALICE})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/x-apple-aspen-config"
    profile = plistlib.loads(response.data)
    assert profile["PayloadType"] == "Configuration" and profile["PayloadVersion"] == 1
    (account,) = profile["PayloadContent"]
    assert account["PayloadType"] == "com.apple.mail.managed"
    assert account["EmailAccountType"] == "EmailTypeIMAP"
    assert account["EmailAddress"] == ALICE
    assert account["IncomingMailServerHostName"] == "mail.example.test"
    assert account["IncomingMailServerPortNumber"] == 993
    assert account["IncomingMailServerUseSSL"] is True
    assert account["OutgoingMailServerPortNumber"] == 465
    assert account["IncomingMailServerUsername"] == ALICE
    again = plistlib.loads(client.get(f"/apple/mailrs.mobileconfig?email={ALICE}").data)
    assert again["PayloadUUID"] == profile["PayloadUUID"]  # stable: reinstalling replaces it
    assert client.get("/apple/mailrs.mobileconfig").status_code == 400
    missing = client.get("/apple/mailrs.mobileconfig", query_string={"email": "a@b.test"})
    assert missing.status_code == 404


def test_mta_sts_policy_is_served_on_the_mta_sts_host(client: FlaskClient) -> None:
    response = client.get("/.well-known/mta-sts.txt", headers={"Host": "mta-sts.example.test"})
    assert response.status_code == 200 and response.mimetype == "text/plain"
    fields = dict(
        line.split(": ", 1) for line in response.get_data(as_text=True).strip().splitlines()
    )
    assert fields == {
        "version": "STSv1",
        "mode": "enforce",
        "mx": "mail.example.test",
        "max_age": "604800",
    }
    assert client.get("/.well-known/mta-sts.txt").status_code == 404
    other = client.get("/.well-known/mta-sts.txt", headers={"Host": "mta-sts.other.test"})
    assert other.status_code == 404
