"""The inbox's assistant panel shows the recent conversation (as /chat does) and can be
collapsed (a button the page's script wires; the state is kept in the browser)."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from support.web import ALICE

from mailrs.accounts.users import find_user
from web.assistant import history

pytestmark = pytest.mark.web_app(config="[auth]\nbase_delay_secs = 0.0", logged_in=True)


def test_inbox_panel_has_history_and_a_toggle(app: Flask, client: FlaskClient) -> None:
    database = app.extensions["mailrs"].database
    with database.session() as session:
        user = find_user(session, ALICE)
        assert user is not None
        user_id = user.id
    history.record(database, user_id, "user", "Liste mes emails")
    history.record(database, user_id, "assistant", "Vous avez 3 messages.")
    for view in ("conversations", "list"):
        html = client.get(f"/?view={view}").get_data(as_text=True)
        assert "Liste mes emails" in html and "Vous avez 3 messages." in html
        assert 'id="chat-toggle"' in html and 'aria-expanded="true"' in html
