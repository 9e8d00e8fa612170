"""The settings page shows the account's usage against its quota."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from support.web import ALICE, log_in

from mailrs.accounts.quota import set_quota
from web.resources import get_resources


def test_settings_page_shows_usage(app: Flask, client: FlaskClient) -> None:
    resources = app.extensions["mailrs"]
    with resources.database.session() as session:
        set_quota(session, ALICE, 1024 * 1024)
    resources.store.deliver(ALICE, b"Subject: s\r\n\r\n" + b"q" * 10000)
    page = log_in(client).get("/settings").get_data(as_text=True)
    assert '<span id="quota">1.0 MiB</span>' in page
    assert '<span id="usage">9.8 KiB</span>' in page
    assert 'value="1"' in page  # the progress bar, in percent


def test_settings_page_unlimited(app: Flask, client: FlaskClient) -> None:
    page = log_in(client).get("/settings").get_data(as_text=True)
    assert '<span id="quota">unlimited</span>' in page
    with app.app_context():
        assert get_resources().store.user_exists(ALICE)
