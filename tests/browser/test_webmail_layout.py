"""The layout at 390, 768, 1280 and 1920 px in Chromium: no page scrolls sideways, the
toolbar's select sits in line with its buttons, subjects keep room beside the assistant,
and the main screens are photographed (the test's tmp dir; docs/screenshots with
MAILRS_SCREENSHOTS=1, the pictures the README shows)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from support.browser import CHROMIUM, DOCS, launch, log_in
from support.services import require_tool
from support.web import ALICE, html_message

from mailrs.store.mailbox import MailboxService
from mailrs.store.maildir import MaildirStore

pytestmark = pytest.mark.slow

WIDTHS = (390, 768, 1280, 1920)
SCREENS = {
    "inbox": "/",
    "conversation": "/conversation/4?folder=INBOX",
    "message": "/message/8?folder=INBOX",
    "compose": "/compose?reply=8&folder=INBOX",
    "search": "/search?q=cake",
    "contacts": "/contacts",
    "settings": "/settings",
    "filters": "/settings/filters",
    "folders": "/folders",
    "chat": "/chat",
}
MAIN = ("inbox", "conversation", "message", "compose", "search", "contacts", "settings")
IN_DOCS = {("inbox", w) for w in WIDTHS} | {(name, 1280) for name in MAIN} | {("message", 390)}


def test_layout_at_four_widths(site: tuple[str, MaildirStore], tmp_path: Path) -> None:
    require_tool(CHROMIUM)
    sync_api = pytest.importorskip("playwright.sync_api")
    base, store = site
    pdf = b"%PDF-1.4 quarterly figures"
    store.deliver(ALICE, html_message("Quarterly report", "<p>Figures <b>attached</b>.</p>", pdf))
    with MailboxService(store, ALICE) as service:
        service.set_flags("INBOX", 6, add="F")  # Garden party gets a star
    keep = os.environ.get("MAILRS_SCREENSHOTS") == "1"
    with sync_api.sync_playwright() as pw:
        browser = launch(pw)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        log_in(page, base)
        page.goto(f"{base}/settings")  # a name and a signature, as a user would have them
        page.fill("#display_name", "Alice Liddell")
        page.fill("#signature", "Alice Liddell\nLooking-glass House")
        page.click("#save-identity")
        page.wait_for_selector("text=Name and signature saved.")
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            for name, path in SCREENS.items():
                page.goto(base + path)
                overflow = page.evaluate(
                    "document.scrollingElement.scrollWidth - document.documentElement.clientWidth"
                )
                assert overflow <= 0, f"{name} scrolls sideways at {width} px by {overflow} px"
                page.screenshot(path=str(tmp_path / f"{name}-{width}.png"), full_page=True)
                if keep and (name, width) in IN_DOCS:
                    DOCS.mkdir(parents=True, exist_ok=True)
                    page.screenshot(path=str(DOCS / f"{name}-{width}.png"))
            page.goto(f"{base}/")
            select = page.locator(".bulk-bar select").bounding_box()
            move = page.locator(".bulk-bar button[value=move]").bounding_box()
            assert select and move
            middle = abs((select["y"] + select["height"] / 2) - (move["y"] + move["height"] / 2))
            assert middle < 3, f"the Move select is {middle} px off its button at {width} px"
            if width >= 1280:  # beside the assistant panel, a subject keeps its room
                subject = page.locator(".messages .subject").first.bounding_box()
                assert subject and subject["width"] >= 300, subject
        browser.close()
