"""The filter rules and vacation reply page in headless Chromium (web app under gunicorn):
a user fills in a rule and the vacation reply, saves, and the Sieve script stored as
active does what the form said; the page shows the saved values again."""

from __future__ import annotations

from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

import pytest
from support.config import provision
from support.gunicorn import gunicorn_web
from support.services import require_tool

from mailrs.config import load_settings
from mailrs.db.engine import Database
from mailrs.sieve.actions import FileInto
from mailrs.sieve.evaluate import Delivery, run
from mailrs.sieve.grammar import parse_script
from mailrs.sieve.storage import active_script

pytestmark = pytest.mark.slow
USER = "alice@example.test"
CHROMIUM = "/usr/bin/chromium"


def test_rules_and_vacation_saved_from_a_browser(tmp_path: Path) -> None:
    require_tool(CHROMIUM)
    sync_api = pytest.importorskip("playwright.sync_api")
    config = provision(tmp_path, users=(USER,))
    with gunicorn_web(config) as web, sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 860})
            page.goto(f"{web.base}/login")
            page.fill("#email", USER)
            page.fill("#password", "alice password")
            page.click("button[type=submit]")
            page.wait_for_url(f"{web.base}/")
            page.goto(f"{web.base}/settings/filters")
            first = page.locator("table.rules tbody tr").first
            first.locator('select[name="field"]').select_option("from")
            first.locator('input[name="text"]').fill("boss@corp.example")
            first.locator('select[name="action"]').select_option("move")
            first.locator('input[name="folder"]').fill("Work")
            page.check("#vacation")
            page.fill("#subject", "Away")
            page.fill("#vacation_text", "Back on Monday.")
            page.fill("#days", "4")
            page.click("#filters-form button[type=submit]")
            page.wait_for_load_state()
            page.goto(f"{web.base}/settings/filters")
            assert page.locator('input[name="text"]').first.input_value() == "boss@corp.example"
            assert page.locator("#vacation").is_checked()
            assert page.locator("#vacation_text").input_value() == "Back on Monday."
            page.screenshot(path=str(tmp_path / "filters.png"))
        finally:
            browser.close()
    db = Database.from_settings(load_settings(config, environ={}))
    try:
        with db.session() as session:
            script = active_script(session, USER)
    finally:
        db.dispose()
    assert script is not None
    data = b"From: Boss <boss@corp.example>\r\nTo: alice@example.test\r\nSubject: hi\r\n\r\nhi\r\n"
    message = message_from_bytes(data, policy=default_policy)
    assert isinstance(message, EmailMessage)
    out = run(parse_script(script), Delivery(message, len(data), "boss@corp.example", USER))
    assert out.stores == [FileInto("Work", (), create=True)]
    assert out.vacation is not None
    assert (out.vacation.days, out.vacation.subject) == (4, "Away")
