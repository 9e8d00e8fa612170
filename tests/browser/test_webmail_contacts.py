"""Contacts in Chromium: the people of Alice's mail are there by themselves, a contact is
added, edited and deleted, a vCard file imported and the export downloaded, and compose
completes addresses in To and Cc from the keyboard and the mouse."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.browser import CHROMIUM, launch, log_in
from support.services import require_tool

from mailrs.store.maildir import MaildirStore

pytestmark = pytest.mark.slow

VCARD = (
    "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Zoé Martin\r\nEMAIL:zoe@work.test\r\n"
    "TEL:+33 1 23 45 67 89\r\nEND:VCARD\r\n"
)


def test_contacts_and_completion(site: tuple[str, MaildirStore], tmp_path: Path) -> None:
    require_tool(CHROMIUM)
    sync_api = pytest.importorskip("playwright.sync_api")
    base, _store = site
    with sync_api.sync_playwright() as pw:
        browser = launch(pw)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("dialog", lambda dialog: dialog.accept())
        log_in(page, base)

        page.click("nav.mainnav >> text=Contacts")
        table = page.locator("#contacts")
        assert "carol@remote.test" in table.inner_text()
        assert "Bob Stone" in table.inner_text()  # senders of received mail, with their names

        page.fill("#contact-name", "Maria Rossi")
        page.fill("#contact-email", "maria@example.org")
        page.fill("#contact-phone", "+39 06 1234")
        page.click("#contact-save")
        page.wait_for_selector("text=Contact Maria Rossi <maria@example.org> saved.")
        page.click("a[aria-label='Edit Maria Rossi <maria@example.org>']")
        page.fill("#contact-name", "Maria Bianchi")
        page.click("#contact-save")
        page.wait_for_selector("text=Contact Maria Bianchi <maria@example.org> saved.")

        vcf = tmp_path / "friends.vcf"
        vcf.write_text(VCARD, encoding="utf-8")
        page.set_input_files("#vcards", str(vcf))
        page.click(".import-form button[type=submit]")
        page.wait_for_selector("text=1 contact imported.")
        assert "Zoé Martin" in page.locator("#contacts").inner_text()
        with page.expect_download() as download:
            page.click("#export-vcards")
        exported = Path(download.value.path()).read_text(encoding="utf-8")
        assert "FN:Zoé Martin" in exported and "maria@example.org" in exported
        page.screenshot(path=str(tmp_path / "contacts-1280.png"), full_page=True)

        # completion: the keyboard in To, the mouse in Cc
        page.goto(f"{base}/compose")
        page.locator("#to").press_sequentially("car", delay=30)
        page.wait_for_selector("#to-suggestions li")
        assert page.locator("#to").get_attribute("aria-expanded") == "true"
        page.keyboard.press("Enter")
        assert page.input_value("#to") == "Carol <carol@remote.test>, "
        page.locator("#to").press_sequentially("bia", delay=30)
        page.wait_for_selector("#to-suggestions li")
        page.keyboard.press("Enter")
        assert page.input_value("#to") == (
            "Carol <carol@remote.test>, Maria Bianchi <maria@example.org>, "
        )
        page.locator("#cc").press_sequentially("zo", delay=30)
        page.click("#cc-suggestions li >> text=Zoé Martin <zoe@work.test>")
        assert page.input_value("#cc") == "Zoé Martin <zoe@work.test>, "
        page.locator("#cc").press_sequentially("nobody-like-this", delay=10)
        page.wait_for_timeout(300)
        assert page.locator("#cc-suggestions").is_hidden()
        page.screenshot(path=str(tmp_path / "compose-completion.png"))

        # delete, after the confirm dialog
        page.goto(f"{base}/contacts")
        page.click("button[aria-label='Delete Maria Bianchi <maria@example.org>']")
        page.wait_for_selector("text=Contact deleted.")
        assert "maria@example.org" not in page.locator("#contacts").inner_text()
        browser.close()
