"""Shared pieces of the web tests: an app with two accounts, logins, tokens, messages."""

from __future__ import annotations

import re
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from mailrs.accounts.users import add_user
from mailrs.config import load_settings
from mailrs.db.engine import Database
from mailrs.db.migrate import upgrade
from mailrs.store.maildir import MaildirStore
from web import create_app

ALICE = "alice@example.test"
BOB = "bob@example.test"
PASSWORDS = {ALICE: "alice password 1", BOB: "bob password 22"}
CSRF_RE = re.compile(
    r'name="csrf-token" content="([^"]+)"|name="csrf_token" type="hidden" value="([^"]+)"'
)


def build_app(config: Path) -> Flask:
    """An app on the config's (migrated) database with Alice and Bob; CSRF on."""
    settings = load_settings(config, environ={})
    upgrade(settings.database_url)
    database = Database.from_settings(settings)
    store = MaildirStore(settings.maildir_path)
    with database.session() as session:
        for address, password in PASSWORDS.items():
            add_user(session, store, address, password)
    database.dispose()
    # the login throttle counts in this test's own database (auth_counters)
    return create_app({"MAILRS_CONFIG": str(config), "TESTING": True})


def append_config(config: Path, text: str) -> Path:
    """Add TOML sections to a test config."""
    config.write_text(config.read_text() + "\n" + text.strip() + "\n")
    return config


def page_csrf(client: FlaskClient, path: str = "/login") -> str:
    """The CSRF token on a page."""
    html = client.get(path).get_data(as_text=True)
    match = CSRF_RE.search(html)
    assert match, f"no CSRF token on {path}"
    return match.group(1) or match.group(2)


def log_in(client: FlaskClient, address: str = ALICE) -> FlaskClient:
    """Log in through the form; returns the client."""
    token = page_csrf(client)
    response = client.post(
        "/login", data={"csrf_token": token, "email": address, "password": PASSWORDS[address]}
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def api_token(client: FlaskClient, address: str = ALICE) -> dict[str, str]:
    """Authorization headers with a fresh JWT for ``address``."""
    response = client.post(
        "/api/auth/token", json={"email": address, "password": PASSWORDS[address]}
    )
    assert response.status_code == 200, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def raw_message(
    subject: str,
    sender: str = "Carol <carol@remote.test>",
    to: str = ALICE,
    body: str = "Hello there.",
    day: int = 1,
    extra: str = "",
) -> bytes:
    """A small plain-text message."""
    return (
        f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\n"
        f"Date: Mon, {day:02d} Dec 2025 10:00:00 +0000\r\n"
        f"Message-ID: <{day}.{abs(hash(subject))}@remote.test>\r\n"
        f"{extra}MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    ).encode()


def html_message(subject: str, html: str, attachment: bytes | None = None) -> bytes:
    """A multipart message with an HTML body and, optionally, a PDF attachment."""
    from email.message import EmailMessage
    from email.policy import SMTP

    message = EmailMessage(policy=SMTP)
    message["From"] = "Mallory <mallory@remote.test>"
    message["To"] = ALICE
    message["Subject"] = subject
    message["Date"] = "Tue, 02 Dec 2025 09:00:00 +0000"
    message["Message-ID"] = "<html-1@remote.test>"
    message.set_content("Plain fallback text.")
    message.add_alternative(html, subtype="html")
    if attachment is not None:
        message.add_attachment(
            attachment, maintype="application", subtype="pdf", filename="report.pdf"
        )
    return message.as_bytes()
