"""What a user does in Chromium, seen by a real IMAP client (imaplib against imapd on a
free port): a draft typed in compose is in Drafts with \\Draft, a folder made in the web
is in LIST and a message moved there is in it, and a folder an IMAP client creates and
a draft it appends show up in the web."""

from __future__ import annotations

import imaplib
import time
from pathlib import Path

import pytest
from support.browser import CHROMIUM, launch, log_in
from support.imap import ImapProcess
from support.services import require_tool
from support.web import ALICE, PASSWORDS

from mailrs.store.maildir import MaildirStore

pytestmark = pytest.mark.slow


def listed(imap: imaplib.IMAP4) -> set[str]:
    """The folder names of LIST."""
    typ, data = imap.list()
    assert typ == "OK", data
    return {line.decode().rsplit(" ", 1)[-1].strip('"') for line in data if isinstance(line, bytes)}


def test_web_and_imap_see_the_same_mail(
    site: tuple[str, MaildirStore], config_path: Path, tmp_path: Path
) -> None:
    require_tool(CHROMIUM)
    sync_api = pytest.importorskip("playwright.sync_api")
    base, _store = site
    server = ImapProcess(config_path, tmp_path / "imapd.log").start()
    imap = imaplib.IMAP4(server.host, server.port, timeout=30)
    try:
        imap.login(ALICE, PASSWORDS[ALICE])
        with sync_api.sync_playwright() as pw:
            browser = launch(pw)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            log_in(page, base)

            page.goto(f"{base}/compose")
            page.fill("#to", "bob@example.test")
            page.fill("#subject", "Typed in Chromium")
            page.fill("#text", "Half a thought")
            page.wait_for_selector("text=Draft saved at")
            typ, _ = imap.select("Drafts")
            assert typ == "OK"
            typ, data = imap.search(None, "SUBJECT", '"Typed in Chromium"')
            assert typ == "OK" and data[0], data
            typ, data = imap.fetch(data[0].split()[-1], "(FLAGS)")
            first = data[0]
            assert typ == "OK" and isinstance(first, bytes) and b"\\Draft" in first, data

            page.goto(f"{base}/folders")
            page.fill("#new-folder", "Clients/2026")
            page.click("text=Create")
            page.wait_for_selector("text=Folder Clients/2026 created.")
            assert {"Clients", "Clients/2026"} <= listed(imap)
            page.goto(f"{base}/?view=list")
            page.locator(".messages .message input.select").first.check()
            page.select_option("select[aria-label='Move selected to folder']", "Clients/2026")
            page.click(".bulk-bar button[value=move]")
            page.wait_for_selector("text=1 message moved to Clients/2026.")
            typ, data = imap.select("Clients/2026")
            assert typ == "OK" and data == [b"1"], data

            typ, _ = imap.create("FromImap")
            assert typ == "OK"
            message = (
                b"From: alice@example.test\r\nTo: carol@example.test\r\n"
                b"Subject: Drafted in IMAP\r\n\r\nBody\r\n"
            )
            typ, _ = imap.append(
                "Drafts", r"(\Draft \Seen)", imaplib.Time2Internaldate(time.time()), message
            )
            assert typ == "OK"
            page.goto(f"{base}/?folder=Drafts")
            assert "FromImap" in page.locator(".folder-list").inner_text()
            page.click("text=Drafted in IMAP")
            page.wait_for_url("**/compose?draft=*")
            assert page.input_value("#to") == "carol@example.test"
            browser.close()
        imap.logout()
    finally:
        server.stop()
