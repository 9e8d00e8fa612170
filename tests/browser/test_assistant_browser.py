"""The assistant in a real browser: multi-turn conversations with follow-ups and an action
that waits for the confirm button; in French ("ouvre le deuxième", "archive-le") and in
English ("the one from Tom Becker", "no, the other one", "reply saying …").

Headless Chromium (Playwright, the Debian chromium binary) against ``mailrs up`` on free
ports; the mail arrives over SMTP. Nothing moves before the button is pressed.
"""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from support.config import provision
from support.processes import mailrs_up, service_env, wait_until
from support.services import require_tool

from mailrs.config import load_settings, parse_hostport
from mailrs.store.maildir import MaildirStore

pytestmark = pytest.mark.slow  # starts several real processes

ALICE = "alice@example.test"
CHROMIUM = "/usr/bin/chromium"
MAILS = (
    ("Acme Billing <billing@acme.test>", "Invoice INV-1001", "Invoice INV-1001: 1,250.00 EUR."),
    ("Maria Dupont <maria@partenaire.fr>", "Réunion de jeudi", "Pouvons-nous la déplacer ?"),
    ("Globex Accounts <accounts@globex.test>", "Your Globex invoice", "Invoice G-7781: 980 USD."),
)


TOMS = (
    ("Tom Wilson <tom.wilson@northwind.test>", "Staging server access", "Could I get access?"),
    ("Tom Becker <tom@becker-media.test>", "Demo video", "Here is the recording of the demo."),
    ("IT Security <security@corp.test>", "Reset your password", "Your password expires."),
)


def smtp_send(addr: str, sender: str, subject: str, body: str) -> None:
    """Hand one message to the MX listener with smtplib."""
    host, port = parse_hostport(addr)
    message = f"From: {sender}\r\nTo: {ALICE}\r\nSubject: {subject}\r\n\r\n{body}\r\n"
    with smtplib.SMTP(host, port, timeout=30) as client:
        client.sendmail(sender.split("<")[1].rstrip(">"), [ALICE], message.encode("utf-8"))


@dataclass
class Chat:
    """A logged-in page with the assistant connected, and Alice's store."""

    page: Any
    store: MaildirStore

    @property
    def answers(self) -> Any:
        """The assistant's finished answers, in order."""
        return self.page.locator(".bubble.assistant.complete")

    def ask(self, text: str, turn: int) -> str:
        """Type a request; the text of answer number ``turn`` once it is complete."""
        self.page.fill("#chat-input", text)
        self.page.press("#chat-input", "Enter")
        self.answers.nth(turn).wait_for()
        return self.answers.nth(turn).inner_text()

    def press(self, label: str, turn: int) -> str:
        """Press a quick-action button; the text of answer number ``turn``."""
        self.page.click(f"#chat-buttons button:has-text('{label}')")
        self.answers.nth(turn).wait_for()
        return self.answers.nth(turn).inner_text()


@contextmanager
def chat_with(tmp_path: Path, mails: tuple[tuple[str, str, str], ...]) -> Iterator[Chat]:
    """``mailrs up`` with ``mails`` delivered over SMTP, and Alice logged in in Chromium."""
    require_tool(CHROMIUM)
    sync_api = pytest.importorskip("playwright.sync_api")
    config = provision(tmp_path, users=(ALICE,))
    settings = load_settings(config, environ={})
    store = MaildirStore(settings.maildir_path)
    base = f"http://{settings.api.listen_addr}"

    with mailrs_up(config, service_env(config)) as up:
        for sender, subject, body in mails:
            smtp_send(settings.smtp.listen_addr, sender, subject, body)
        delivered = wait_until(lambda: len(store.list_messages(ALICE)) == len(mails), timeout=180)
        assert delivered, up.output

        with sync_api.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True)
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 860})
                page.goto(f"{base}/login")
                page.fill("#email", ALICE)
                page.fill("#password", "alice password")
                page.click("button[type=submit]")
                page.wait_for_url(f"{base}/")
                page.wait_for_selector('#chat[data-connected="1"]')
                yield Chat(page, store)
            finally:
                browser.close()


def test_conversation_with_follow_ups_and_a_confirmed_action(tmp_path: Path) -> None:
    with chat_with(tmp_path, MAILS) as chat:
        store = chat.store
        found = chat.ask("cherche les factures", 0)
        assert "2 messages trouvés" in found
        assert "Globex" in found and "Acme" in found and "Maria" not in found
        read = chat.ask("ouvre le deuxième", 1)
        assert "INV-1001" in read  # newest first: Globex is 1, Acme is 2
        asked = chat.ask("archive-le", 2)
        assert "Archive" in asked and "Invoice INV-1001" in asked
        assert store.list_messages(ALICE, "Archive") == []  # waits for the button
        assert "Déplacé vers Archive" in chat.press("Confirmer", 3)
        assert wait_until(lambda: len(store.list_messages(ALICE, "Archive")) == 1, 30)
        assert len(store.list_messages(ALICE)) == 2


def test_english_conversation_with_corrections_and_a_confirmed_reply(tmp_path: Path) -> None:
    with chat_with(tmp_path, TOMS) as chat:
        store = chat.store
        found = chat.ask("anything from Tom?", 0)
        assert "2 messages" in found and "Tom Wilson" in found and "Tom Becker" in found
        assert "Security" not in found
        assert "recording of the demo" in chat.ask("the one from Tom Becker", 1)
        assert "Could I get access" in chat.ask("no, the other one", 2)
        asked = chat.ask("reply saying done, you have access now", 3)
        assert "tom.wilson@northwind.test" in asked and "you have access now" in asked
        assert store.list_messages(ALICE, "Sent") == []  # waits for the button
        assert "Sent to tom.wilson@northwind.test" in chat.press("Send", 4)
        assert wait_until(lambda: len(store.list_messages(ALICE, "Sent")) == 1, 30)
