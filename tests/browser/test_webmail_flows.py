"""The webmail flows in headless Chromium (Playwright) against the Flask app served on a
free port: conversation view, a bulk action and its undo, draft autosave, folder create/
rename/delete, search with filters, the assistant panel collapsed; and the layout at 390,
768, 1280 and 1920 px (screenshots in the test's tmp dir; the README's pictures come from
test_webmail_layout.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.browser import CHROMIUM, launch, log_in
from support.services import require_tool
from support.web import ALICE

from mailrs.store.mailbox import MailboxService
from mailrs.store.maildir import MaildirStore

pytestmark = pytest.mark.slow


def test_webmail_flows(site: tuple[str, MaildirStore], tmp_path: Path) -> None:
    require_tool(CHROMIUM)
    sync_api = pytest.importorskip("playwright.sync_api")
    base, store = site
    with sync_api.sync_playwright() as pw:
        browser = launch(pw)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        log_in(page, base)

        # conversations: one row for the four messages, opened with the older ones collapsed
        rows = page.locator(".messages .message")
        assert rows.count() == 4
        assert page.locator(".count").first.inner_text() == "4"
        for width in (390, 768, 1280, 1920):
            page.set_viewport_size({"width": width, "height": 900})
            shot = tmp_path / f"inbox-{width}.png"
            page.screenshot(path=str(shot), full_page=True)
        page.set_viewport_size({"width": 1280, "height": 900})
        page.click("text=Project Phoenix kickoff")
        assert page.locator("details.thread-message").count() == 4
        page.goto(f"{base}/")  # now read: only the newest stays open
        page.click("text=Project Phoenix kickoff")
        assert page.locator("details.thread-message[open]").count() == 1

        # bulk: select two rows, archive, undo
        page.goto(f"{base}/")
        page.locator(".messages .message input.select").nth(1).check()
        page.locator(".messages .message input.select").nth(2).check()
        page.click("#bulk-archive")
        page.wait_for_selector("text=2 messages moved to Archive.")
        assert page.locator(".messages .message").count() == 2
        page.click("#undo-button")
        page.wait_for_selector("text=2 messages back in INBOX.")
        assert page.locator(".messages .message").count() == 4

        # keyboard: j selects the first row, e archives it
        page.keyboard.press("j")
        page.keyboard.press("e")
        page.wait_for_selector("text=moved to Archive.")

        # draft autosave: typing is enough, the draft lands in Drafts
        page.goto(f"{base}/compose")
        page.fill("#to", "bob@remote.test")
        page.fill("#subject", "Unfinished thoughts")
        page.fill("#text", "To be continued")
        page.wait_for_selector("text=Draft saved at")
        with MailboxService(store, ALICE) as service:
            (draft,) = service.messages("Drafts")
            assert "D" in draft.flags
            assert b"Unfinished thoughts" in service.read_uid("Drafts", draft.uid)

        # folders: create, rename, delete
        page.goto(f"{base}/folders")
        page.fill("#new-folder", "Clients")
        page.click("text=Create")
        page.wait_for_selector("text=Folder Clients created.")
        page.fill("input[aria-label='New name for Clients']", "Customers")
        page.locator("form:has(input[value='Clients']) button:has-text('Rename')").click()
        page.wait_for_selector("text=Folder Clients renamed to Customers.")
        page.on("dialog", lambda dialog: dialog.accept())
        page.click("button[aria-label='Delete Customers']")
        page.wait_for_selector("text=Folder Customers deleted.")
        with MailboxService(store, ALICE) as service:
            assert "Customers" not in service.list_folders()

        # search with filters
        page.goto(f"{base}/search")
        page.fill("input[name=q]", "cake")
        page.fill("input[name=from]", "bob")
        page.click("form.search-full button[type=submit]")
        page.wait_for_selector(".messages")
        assert page.locator(".messages .message").count() == 1
        assert "Garden party" in page.locator(".messages").inner_text()
        # the assistant panel collapses, and stays collapsed after a reload
        page.goto(f"{base}/")
        page.click("#chat-toggle")
        assert "chat-collapsed" in (page.locator(".layout").get_attribute("class") or "")
        page.reload()
        assert page.locator("#chat-toggle").get_attribute("aria-expanded") == "false"
        assert not page.locator("#chat-log").is_visible()
        page.click("#chat-toggle")
        assert page.locator("#chat-log").is_visible()
        browser.close()
