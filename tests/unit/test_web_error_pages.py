"""Error pages in the app's look (404, 500), JSON under /api/, and the favicon."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.exceptions import InternalServerError

pytestmark = pytest.mark.web_app(config="[auth]\nbase_delay_secs = 0.0", logged_in=True)


def test_404_is_styled_and_api_404_is_json(client: FlaskClient) -> None:
    page = client.get("/no/such/page")
    html = page.get_data(as_text=True)
    assert page.status_code == 404 and "style.css" in html and "Back to the inbox" in html
    api = client.get("/api/no/such/thing")
    assert api.status_code == 404 and api.is_json


def test_500_is_styled(app: Flask) -> None:
    handler: Any = app.error_handler_spec[None][500][InternalServerError]
    with app.test_request_context("/"):
        body, status = handler(InternalServerError())
    assert status == 500 and "Something went wrong" in body and "style.css" in body
    with app.test_request_context("/api/messages"):
        response, status = handler(InternalServerError())
    assert status == 500 and response.is_json


def test_favicon(client: FlaskClient) -> None:
    assert 'rel="icon"' in client.get("/").get_data(as_text=True)
    icon = client.get("/favicon.ico", follow_redirects=True)
    assert icon.status_code == 200 and b"<svg" in icon.data
