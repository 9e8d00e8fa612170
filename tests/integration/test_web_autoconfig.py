"""Client set-up from the web app: Thunderbird autoconfig, Outlook autodiscover, the Apple
profile (unsigned, and signed: verified by ``openssl smime``) and the MTA-STS policy, each
checked against the config it was built from."""

from __future__ import annotations

import datetime as dt
import plistlib
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import NameOID
from flask import Flask
from flask.testing import FlaskClient
from support.services import require_tool
from support.web import ALICE, append_config, build_app

from mailrs.tls import write_selfsigned

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


def _ca_and_leaf(folder: Path) -> tuple[Path, Path, Path]:
    """A CA, and an RSA leaf for mail.example.test it signed: (ca.pem, chain.pem, key.pem)."""
    now = dt.datetime.now(dt.UTC)

    def name(common: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(name("Test Root"))
        .issuer_name(name("Test Root"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    leaf = (
        x509.CertificateBuilder()
        .subject_name(name("mail.example.test"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    (folder / "ca.pem").write_bytes(ca.public_bytes(pem))
    (folder / "chain.pem").write_bytes(leaf.public_bytes(pem) + ca.public_bytes(pem))
    (folder / "key.pem").write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return folder / "ca.pem", folder / "chain.pem", folder / "key.pem"


def _openssl_verify(signed: bytes, ca: Path, folder: Path) -> bytes:
    """What ``openssl smime -verify`` finds inside a DER profile trusted through ``ca``."""
    require_tool("openssl")
    path = folder / "signed.mobileconfig"
    path.write_bytes(signed)
    done = subprocess.run(
        ["openssl", "smime", "-verify", "-inform", "der", "-in", str(path), "-CAfile", str(ca),
         "-purpose", "any"],
        capture_output=True,
        timeout=60,
    )  # fmt: skip
    assert done.returncode == 0 and b"Verification successful" in done.stderr, done.stderr
    return done.stdout


def test_apple_profile_is_signed_with_the_configured_pair(
    config_path: Path, tmp_path: Path
) -> None:
    ca, chain, key = _ca_and_leaf(tmp_path)
    append_config(
        config_path,
        PUBLIC + f'profile_cert_path = "{chain}"\nprofile_key_path = "{key}"\n',
    )
    app = build_app(config_path)
    try:
        client = app.test_client()
        response = client.get("/apple/mailrs.mobileconfig", query_string={"email": ALICE})
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "application/x-apple-aspen-config"
        assert not response.data.startswith(b"<?xml")  # DER, not the bare plist
        inside = _openssl_verify(response.data, ca, tmp_path)
        profile = plistlib.loads(inside)
        assert profile["PayloadContent"][0]["EmailAddress"] == ALICE
        certs = pkcs7.load_der_pkcs7_certificates(response.data)
        subjects = sorted(c.subject.rfc4514_string() for c in certs)
        assert subjects == ["CN=Test Root", "CN=mail.example.test"]  # the chain goes along
    finally:
        app.extensions["mailrs"].database.dispose()


def test_apple_profile_falls_back_to_the_imap_pair_and_to_unsigned(
    config_path: Path, tmp_path: Path
) -> None:
    cert, key = write_selfsigned(tmp_path / "tls", "mail.example.test")  # EC, self-signed
    text = config_path.read_text()
    assert text.count("[imap]\n") == 1
    pair = f'tls_cert_path = "{cert}"\ntls_key_path = "{key}"\n'
    config_path.write_text(text.replace("[imap]\n", "[imap]\n" + pair))
    append_config(config_path, PUBLIC)
    app = build_app(config_path)
    try:
        client = app.test_client()
        signed = client.get("/apple/mailrs.mobileconfig", query_string={"email": ALICE}).data
        assert plistlib.loads(_openssl_verify(signed, cert, tmp_path))["PayloadVersion"] == 1
        cert.write_text("not a certificate any more\n")  # a broken renewal: unsigned, logged
        unsigned = client.get("/apple/mailrs.mobileconfig", query_string={"email": ALICE})
        assert unsigned.status_code == 200
        assert plistlib.loads(unsigned.data)["PayloadContent"][0]["EmailAddress"] == ALICE
    finally:
        app.extensions["mailrs"].database.dispose()
