"""Keyboard shortcuts, undo and loading states in Chromium: / j k on the list, r a f # on a
message, e on a conversation; a delete or move from the message page, and a row dragged
onto a folder, are undone from the notice; Send and the bulk buttons show that they are
busy and cannot be pressed twice."""

from __future__ import annotations

import pytest
from support.browser import CHROMIUM, launch, log_in
from support.services import require_tool
from support.web import ALICE

from mailrs.store.mailbox import MailboxService
from mailrs.store.maildir import MaildirStore

pytestmark = pytest.mark.slow

HOLD_SUBMIT = """() => {  // after the page's own handlers: keep the page from navigating
  document.querySelectorAll("form").forEach((f) =>
    f.addEventListener("submit", (e) => {
      if (!e.defaultPrevented) window.submits = (window.submits || 0) + 1;  // would be sent
      e.preventDefault();
    }));
}"""


def inbox_count(store: MaildirStore, folder: str = "INBOX") -> int:
    """How many messages IMAP would see in ``folder``."""
    with MailboxService(store, ALICE) as service:
        return len(service.messages(folder))


def test_shortcuts_undo_and_busy_buttons(site: tuple[str, MaildirStore]) -> None:
    require_tool(CHROMIUM)
    sync_api = pytest.importorskip("playwright.sync_api")
    base, store = site
    with sync_api.sync_playwright() as pw:
        browser = launch(pw)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        log_in(page, base)

        page.keyboard.press("/")
        assert page.evaluate("document.activeElement.type") == "search"
        page.evaluate("document.activeElement.blur()")
        rows = page.locator(".messages .message")
        page.keyboard.press("j")
        page.keyboard.press("j")
        assert "current" in (rows.nth(1).get_attribute("class") or "")
        page.keyboard.press("k")
        assert "current" in (rows.nth(0).get_attribute("class") or "")
        page.keyboard.press("Enter")  # opens the focused row: Train tickets
        page.wait_for_selector("h1:has-text('Train tickets')")
        page.wait_for_load_state()
        message_url = page.url
        for key, part in (("r", "reply="), ("a", "reply_all="), ("f", "forward=")):
            page.goto(message_url)  # goto waits for the load event: mail.js is listening
            page.keyboard.press(key)
            page.wait_for_url(f"**/compose?*{part}*")
        assert "Fwd: Train tickets" in page.input_value("#subject")

        # '#' on a message: to Trash, then Undo
        page.goto(message_url)
        page.keyboard.press("#")
        page.wait_for_selector("text=1 message moved to Trash.")
        assert inbox_count(store, "Trash") == 1
        page.click("#undo-button")
        page.wait_for_selector("text=1 message back in INBOX.")
        assert inbox_count(store, "Trash") == 0 and inbox_count(store) == 7

        # Move from the message page to a folder, undone too
        page.click("text=Garden party")
        page.select_option("select[aria-label='Move to folder']", "Junk")
        page.click("#move-button")
        page.wait_for_selector("text=1 message moved to Junk.")
        page.click("#undo-button")
        page.wait_for_selector("text=1 message back in INBOX.")

        # flag from the message page: the star appears in the list
        page.click("text=Invoice March")
        page.click("#flag-button")
        page.wait_for_selector("text=1 message flagged.")
        assert page.locator(".messages .marker.flag").count() == 1

        # drag a row onto a folder: it moves there, with Undo
        page.drag_and_drop(".messages .message:has-text('Invoice March')", "a[data-folder=Junk]")
        page.wait_for_selector("text=1 message moved to Junk.")
        assert inbox_count(store, "Junk") == 1
        page.click("#undo-button")
        page.wait_for_selector("text=1 message back in INBOX.")

        # 'e' on a conversation archives all four of its messages
        page.click("text=Project Phoenix kickoff")
        page.wait_for_url("**/conversation/**")
        page.wait_for_load_state()
        page.keyboard.press("e")
        page.wait_for_selector("text=4 messages moved to Archive.")
        assert inbox_count(store, "Archive") == 4
        page.click("#undo-button")
        page.wait_for_selector("text=4 messages back in INBOX.")

        # loading states: the pressed button spins, the form's buttons wait, no second send
        page.goto(f"{base}/compose")
        page.fill("#to", "bob@example.test")
        page.evaluate(HOLD_SUBMIT)
        page.click("#send-button")
        send = page.locator("#send-button")
        assert send.get_attribute("aria-busy") == "true"
        assert send.inner_text().startswith("Sending")
        page.wait_for_function("document.getElementById('send-button').disabled")
        assert page.locator("#save-draft").is_disabled()
        page.evaluate("document.getElementById('compose-form').requestSubmit()")
        assert page.evaluate("window.submits") == 1  # the second submit never got through

        page.goto(f"{base}/")
        page.locator(".messages .message input.select").first.check()
        page.evaluate(HOLD_SUBMIT)
        page.click("#bulk-archive")
        assert page.locator("#bulk-archive").get_attribute("aria-busy") == "true"
        page.wait_for_function("document.getElementById('bulk-delete').disabled")
        assert page.locator("#bulk-form").get_attribute("aria-busy") == "true"
        browser.close()
