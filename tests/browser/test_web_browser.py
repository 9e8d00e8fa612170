"""The web app in a real browser: headless Chromium (Playwright, the Debian chromium binary)
against ``mailrs up`` (gunicorn, smtpd, Celery, imapd) on free ports.

Log in, see the inbox, ask the assistant "Liste mes emails" and watch the streamed
answer, press one of its buttons, get a notification when mail arrives over SMTP, send
a mail with an attachment and find it in Sent (and in the recipient's Maildir).
Screenshots go to the test's tmp dir and to /work/team/screenshots when it exists.
"""

from __future__ import annotations

import imaplib
import json
import shutil
import smtplib
import urllib.request
from pathlib import Path

import pytest
from support.config import provision
from support.processes import mailrs_up, service_env, wait_until
from support.services import require_tool

from mailrs.config import load_settings, parse_hostport
from mailrs.store.maildir import MaildirStore

pytestmark = pytest.mark.slow  # starts several real processes

ALICE = "alice@example.test"
BOB = "bob@example.test"
TEAM_SCREENSHOTS = Path("/work/team/screenshots")
CHROMIUM = "/usr/bin/chromium"


def smtp_send(addr: str, subject: str, body: str) -> None:
    """Hand a message to the MX listener with smtplib."""
    host, port = parse_hostport(addr)
    message = (
        f"From: Carol <carol@remote.test>\r\nTo: {ALICE}\r\nSubject: {subject}\r\n\r\n{body}\r\n"
    )
    with smtplib.SMTP(host, port, timeout=30) as client:
        client.sendmail("carol@remote.test", [ALICE], message.encode())


def check_flags_shared_with_imap(base: str, imap_addr: str) -> None:
    """The web's flags and UIDs are IMAP's: read in the chat = \\Seen over IMAP."""
    request = urllib.request.Request(
        f"{base}/api/auth/token",
        data=json.dumps({"email": ALICE, "password": "alice password"}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        auth = {"Authorization": "Bearer " + json.load(response)["token"]}

    def api_messages() -> dict[str, dict]:
        req = urllib.request.Request(f"{base}/api/messages", headers=auth)
        with urllib.request.urlopen(req, timeout=30) as response:
            return {m["subject"]: m for m in json.load(response)["messages"]}

    web = api_messages()
    host, port = parse_hostport(imap_addr)
    imap = imaplib.IMAP4(host, port, timeout=30)
    try:
        imap.login(ALICE, "alice password")
        imap.select("INBOX")
        welcome = web["Welcome to mailrs"]  # read through the chat's button
        typ, data = imap.uid("FETCH", str(welcome["uid"]), "(FLAGS BODY[])")
        assert typ == "OK" and b"\\Seen" in data[0][0] and b"Welcome to mailrs" in data[0][1]
    finally:
        imap.logout()
    # IMAP's STORE lands with the IMAP issue; the other direction is checked on the Maildir
    # in test_web_api.test_flags_are_shared_with_imap_through_the_maildir.


def test_browser_session(tmp_path: Path) -> None:
    require_tool(CHROMIUM)
    sync_api = pytest.importorskip("playwright.sync_api")
    config = provision(tmp_path, users=(ALICE, BOB))
    settings = load_settings(config, environ={})
    store = MaildirStore(settings.maildir_path)
    shots = tmp_path / "screenshots"
    shots.mkdir()
    base = f"http://{settings.api.listen_addr}"

    with mailrs_up(config, service_env(config)) as up:
        smtp_send(settings.smtp.listen_addr, "Welcome to mailrs", "Your mailbox is ready.")
        assert wait_until(lambda: len(store.list_messages(ALICE)) == 1, timeout=60), up.output

        with sync_api.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True)
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 860})
                page.goto(f"{base}/login")
                page.fill("#email", ALICE)
                page.fill("#password", "alice password")
                page.click("button[type=submit]")
                page.wait_for_url(f"{base}/")
                assert "Welcome to mailrs" in page.inner_text(".maillist")
                page.wait_for_selector('#chat[data-connected="1"]')
                page.screenshot(path=str(shots / "1-inbox.png"))

                page.fill("#chat-input", "Liste mes emails")
                page.press("#chat-input", "Enter")
                answer = page.wait_for_selector(".bubble.assistant.complete")
                assert answer is not None
                text = answer.inner_text()
                assert text.startswith("Vos messages les plus récents dans INBOX")
                assert "1. ● Carol — Welcome to mailrs" in text
                page.screenshot(path=str(shots / "2-chat-list.png"))

                page.click("#chat-buttons button:has-text('Lire le 1')")
                second = page.locator(".bubble.assistant.complete").nth(1)
                second.wait_for()
                read = second.inner_text()
                assert "Your mailbox is ready." in read
                # reading in the chat marks it read: the list and the unread count follow
                page.locator(".maillist .message:not(.unread)").wait_for()
                assert page.locator(".folder-list .badge").count() == 0
                page.screenshot(path=str(shots / "3-chat-button.png"))

                smtp_send(settings.smtp.listen_addr, "Live one", "Arrived during the test.")
                note = page.wait_for_selector(".bubble.notification", timeout=60_000)
                assert note is not None and "Live one" in note.inner_text()
                # the list on the page refreshes by itself
                page.locator(".maillist", has_text="Live one").wait_for()
                page.screenshot(path=str(shots / "4-notification.png"))

                attachment = tmp_path / "notes.txt"
                attachment.write_text("meeting notes\n")
                page.click("#compose-link")
                page.fill("#to", BOB)
                page.fill("#subject", "Sent from Chromium")
                page.fill("#text", "Hello Bob, written in a real browser.")
                page.set_input_files("#attachments", str(attachment))
                page.screenshot(path=str(shots / "5-compose.png"))
                page.click("#send-button")
                page.wait_for_url(f"{base}/?folder=Sent")
                assert "Sent from Chromium" in page.inner_text(".maillist")
                page.screenshot(path=str(shots / "6-sent.png"))
                page.click(".maillist .row-link")
                assert "notes.txt" in page.inner_text(".attachments")
                page.screenshot(path=str(shots / "7-message.png"))

                phone = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
                phone.context.add_cookies(page.context.cookies())
                phone.goto(f"{base}/")
                phone.wait_for_selector('#chat[data-connected="1"]')
                phone.screenshot(path=str(shots / "8-phone.png"), full_page=True)
            finally:
                browser.close()

        check_flags_shared_with_imap(base, settings.imap.listen_addr)
        assert wait_until(lambda: len(store.list_messages(BOB)) == 1, timeout=60), up.output
        (delivered,) = store.list_messages(BOB)
        assert b"Sent from Chromium" in store.read(BOB, "INBOX", delivered.key)

    if TEAM_SCREENSHOTS.parent.is_dir():
        TEAM_SCREENSHOTS.mkdir(exist_ok=True)
        for shot in shots.iterdir():
            shutil.copy(shot, TEAM_SCREENSHOTS / f"web-{shot.name}")
