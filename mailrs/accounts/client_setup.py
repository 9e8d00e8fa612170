"""Answers that let a mail client set itself up from an address and a password.

Thunderbird's autoconfig (``config-v1.1.xml``), Outlook's autodiscover (POX XML) and an
Apple configuration profile (a plist), all built from ``mailrs.accounts.endpoints``:
IMAP over TLS for reading, submission with TLS for sending, the address as login.
"""

from __future__ import annotations

import plistlib
import uuid
import xml.etree.ElementTree as ET

from mailrs.accounts.endpoints import Endpoints

AUTODISCOVER_REQUEST_NS = (
    "http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"
)
AUTODISCOVER_RESPONSE_NS = "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"
OUTLOOK_RESPONSE_NS = (
    "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"
)
MAX_AUTODISCOVER_BODY = 16 * 1024
PROFILE_NAMESPACE = uuid.UUID("0d2f5c8e-6a51-4a8e-9a65-6d61696c7273")


def _sub(parent: ET.Element, tag: str, text: str | int | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    if text is not None:
        element.text = str(text)
    return element


def _xml(root: ET.Element) -> bytes:
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def thunderbird_config(ends: Endpoints, domain: str) -> bytes:
    """Thunderbird's ``clientConfig`` (autoconfig v1.1) for a domain."""
    root = ET.Element("clientConfig", version="1.1")
    provider = _sub(root, "emailProvider", id=domain)
    _sub(provider, "domain", domain)
    _sub(provider, "displayName", f"{domain} mail")
    _sub(provider, "displayShortName", domain)
    incoming = _sub(provider, "incomingServer", type="imap")
    for tag, value in (
        ("hostname", ends.mail_host),
        ("port", ends.imaps_port),
        ("socketType", "SSL"),
        ("authentication", "password-cleartext"),
        ("username", "%EMAILADDRESS%"),
    ):
        _sub(incoming, tag, value)
    for port, socket_type in ((ends.submissions_port, "SSL"), (ends.submission_port, "STARTTLS")):
        outgoing = _sub(provider, "outgoingServer", type="smtp")
        for tag, value in (
            ("hostname", ends.mail_host),
            ("port", port),
            ("socketType", socket_type),
            ("authentication", "password-cleartext"),
            ("username", "%EMAILADDRESS%"),
        ):
            _sub(outgoing, tag, value)
    return _xml(root)


def autodiscover_address(body: bytes) -> str:
    """The EMailAddress of an Outlook autodiscover request; ValueError for a bad body."""
    if len(body) > MAX_AUTODISCOVER_BODY:
        raise ValueError("request too large")
    if b"<!DOCTYPE" in body.upper() or b"<!ENTITY" in body.upper():
        raise ValueError("document type declarations are not accepted")
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise ValueError(f"not XML: {exc}") from None
    for element in root.iter():
        if element.tag.rpartition("}")[2] == "EMailAddress" and element.text:
            return element.text.strip()
    raise ValueError("no EMailAddress in the request")


def autodiscover_response(ends: Endpoints, address: str) -> bytes:
    """Outlook's autodiscover answer: IMAP over TLS and SMTP submission over TLS."""
    ET.register_namespace("", AUTODISCOVER_RESPONSE_NS)
    root = ET.Element(f"{{{AUTODISCOVER_RESPONSE_NS}}}Autodiscover")
    response = _sub(root, f"{{{OUTLOOK_RESPONSE_NS}}}Response")
    account = _sub(response, f"{{{OUTLOOK_RESPONSE_NS}}}Account")
    _sub(account, f"{{{OUTLOOK_RESPONSE_NS}}}AccountType", "email")
    _sub(account, f"{{{OUTLOOK_RESPONSE_NS}}}Action", "settings")
    for kind, port in (("IMAP", ends.imaps_port), ("SMTP", ends.submissions_port)):
        protocol = _sub(account, f"{{{OUTLOOK_RESPONSE_NS}}}Protocol")
        for tag, value in (
            ("Type", kind),
            ("Server", ends.mail_host),
            ("Port", port),
            ("DomainRequired", "off"),
            ("LoginName", address),
            ("SPA", "off"),
            ("SSL", "on"),
            ("AuthRequired", "on"),
        ):
            _sub(protocol, f"{{{OUTLOOK_RESPONSE_NS}}}{tag}", value)
    return _xml(root)


def apple_profile(ends: Endpoints, address: str) -> bytes:
    """An (unsigned) Apple configuration profile with one IMAP account, as plist XML."""
    domain = address.rpartition("@")[2]
    reverse = ".".join(reversed(domain.split(".")))
    account = {
        "PayloadType": "com.apple.mail.managed",
        "PayloadVersion": 1,
        "PayloadIdentifier": f"{reverse}.mailrs.account",
        "PayloadUUID": str(uuid.uuid5(PROFILE_NAMESPACE, "account:" + address)).upper(),
        "PayloadDisplayName": address,
        "EmailAccountDescription": address,
        "EmailAccountType": "EmailTypeIMAP",
        "EmailAddress": address,
        "IncomingMailServerAuthentication": "EmailAuthPassword",
        "IncomingMailServerHostName": ends.mail_host,
        "IncomingMailServerPortNumber": ends.imaps_port,
        "IncomingMailServerUseSSL": True,
        "IncomingMailServerUsername": address,
        "OutgoingMailServerAuthentication": "EmailAuthPassword",
        "OutgoingMailServerHostName": ends.mail_host,
        "OutgoingMailServerPortNumber": ends.submissions_port,
        "OutgoingMailServerUseSSL": True,
        "OutgoingMailServerUsername": address,
        "OutgoingPasswordSameAsIncomingPassword": True,
    }
    profile = {
        "PayloadContent": [account],
        "PayloadDisplayName": f"{domain} mail",
        "PayloadIdentifier": f"{reverse}.mailrs",
        "PayloadType": "Configuration",
        "PayloadUUID": str(uuid.uuid5(PROFILE_NAMESPACE, "profile:" + address)).upper(),
        "PayloadVersion": 1,
    }
    return plistlib.dumps(profile, fmt=plistlib.FMT_XML)
