"""Shared pieces of the webmail browser tests: the app on a free port with Alice's mail,
headless Chromium (the Debian binary, never a downloaded one) and a logged-in page."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from werkzeug.serving import make_server

from mailrs.store.maildir import MaildirStore
from support.services import require_file
from support.web import ALICE, PASSWORDS, build_app, raw_message

CHROMIUM = "/usr/bin/chromium"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
# axe-core from npm, outside the repository (.ci/run: npm install --prefix ~/.cache/mailrs-axe)
AXE_DIR = Path(os.environ.get("MAILRS_AXE_DIR", Path.home() / ".cache" / "mailrs-axe"))


def axe_script() -> str:
    """The source of axe-core's axe.min.js, to inject into pages."""
    path = require_file(
        str(AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"),
        f"npm install --prefix {AXE_DIR} axe-core@4",
    )
    return Path(path).read_text(encoding="utf-8")


def threaded(subject: str, n: int, body: str) -> bytes:
    """Message ``n`` of a conversation about ``subject``."""
    refs = " ".join(f"<t{i}@remote.test>" for i in range(1, n))
    extra = f"References: {refs}\r\nIn-Reply-To: <t{n - 1}@remote.test>\r\n" if n > 1 else ""
    raw = raw_message(("Re: " if n > 1 else "") + subject, body=body, day=n, extra=extra)
    return raw.replace(b"Message-ID: <", f"Message-ID: <t{n}@remote.test>\r\nX-Old-Id: <".encode())


def fill_mailbox(store: MaildirStore) -> None:
    """Alice's mail: a conversation of four and three single messages."""
    for n in range(1, 5):
        store.deliver(ALICE, threaded("Project Phoenix kickoff", n, f"Step {n} of the plan."))
    for n, subject in enumerate(("Invoice March", "Garden party", "Train tickets"), start=10):
        sender = "Bob Stone <bob@remote.test>" if n == 11 else "Carol <carol@remote.test>"
        store.deliver(ALICE, raw_message(subject, sender=sender, body="bring a cake", day=n))


@contextmanager
def serve_app(config_path: Path) -> Iterator[tuple[str, MaildirStore]]:
    """The web app (Alice and Bob) on a free 127.0.0.1 port, stopped on exit."""
    app = build_app(config_path)
    store: MaildirStore = app.extensions["mailrs"].store
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", store
    finally:
        server.shutdown()
        thread.join(timeout=10)
        app.extensions["mailrs"].database.dispose()


def launch(pw: Any) -> Any:
    """Headless Chromium from /usr/bin/chromium."""
    return pw.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
    )


def log_in(page: Any, base: str, address: str = ALICE) -> None:
    """Log in through the form and wait for the inbox."""
    page.goto(f"{base}/login")
    page.fill("#email", address)
    page.fill("#password", PASSWORDS[address])
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
