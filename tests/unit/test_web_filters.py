"""The settings page's rule editor and vacation form write the account's Sieve script."""

from __future__ import annotations

from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy

import pytest
from flask import Flask
from flask.testing import FlaskClient
from support.web import ALICE, page_csrf

from mailrs.sieve import storage
from mailrs.sieve.actions import FileInto
from mailrs.sieve.evaluate import Delivery, run
from mailrs.sieve.grammar import parse_script
from mailrs.sieve.rules import WEB_SCRIPT

pytestmark = pytest.mark.web_app(logged_in=True)


def _script(app: Flask) -> str | None:
    with app.extensions["mailrs"].database.session() as session:
        return storage.active_script(session, ALICE)


def test_rules_and_vacation_become_the_active_script(client: FlaskClient, app: Flask) -> None:
    """The form is saved as Sieve that parses, runs as asked, and shows again."""
    token = page_csrf(client, "/settings/filters")
    reply = client.post(
        "/settings/filters",
        data={
            "csrf_token": token,
            "field": ["from", "subject", "from"],
            "text": ["boss@corp.example", "newsletter", ""],
            "action": ["move", "read", "move"],
            "folder": ["Work", "", ""],
            "vacation": "on",
            "subject": "Away",
            "vacation_text": "Back on Monday.",
            "days": "3",
        },
    )
    assert reply.status_code == 303
    script = _script(app)
    assert script is not None
    data = b"From: The Boss <boss@corp.example>\r\nTo: alice\r\nSubject: newsletter\r\n\r\nhi\r\n"
    message = message_from_bytes(data, policy=default_policy)
    assert isinstance(message, EmailMessage)
    out = run(parse_script(script), Delivery(message, len(data), "boss@corp.example", ALICE))
    assert out.stores == [FileInto("Work", ("\\Seen",), create=True)]
    assert out.vacation is not None and out.vacation.days == 3
    assert out.vacation.subject == "Away" and out.vacation.reason == "Back on Monday."
    html = client.get("/settings/filters").get_data(as_text=True)
    assert 'value="boss@corp.example"' in html and "Back on Monday." in html


def test_a_bad_rule_is_refused_and_nothing_stored(client: FlaskClient, app: Flask) -> None:
    """A move rule without a folder is refused with a message."""
    token = page_csrf(client, "/settings/filters")
    reply = client.post(
        "/settings/filters",
        data={"csrf_token": token, "field": "from", "text": "x", "action": "move", "folder": ""},
        follow_redirects=True,
    )
    assert "Not saved: a move rule needs a folder" in reply.get_data(as_text=True)
    assert _script(app) is None


def test_another_active_script_is_shown(client: FlaskClient, app: Flask) -> None:
    """A script from a ManageSieve client is named on the page."""
    with app.extensions["mailrs"].database.session() as session:
        storage.put_script(session, ALICE, "roundcube", "keep;")
        storage.set_active(session, ALICE, "roundcube")
        session.commit()
    html = client.get("/settings/filters").get_data(as_text=True)
    assert "roundcube" in html and WEB_SCRIPT not in html
