"""An open chat socket ends when its login session is revoked (logout elsewhere)."""

from __future__ import annotations

import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from simple_websocket import ConnectionClosed
from support.chat_client import Browser
from support.config import write_config
from support.web import ALICE, PASSWORDS, append_config, build_app
from test_web_chat import serving


def test_logout_everywhere_closes_open_chat_sockets(tmp_path: Path) -> None:
    config = append_config(write_config(tmp_path), "[auth]\nbase_delay_secs = 0.0")
    app = build_app(config)
    app.config["CHAT_LIVENESS_SECS"] = 0.5  # the default re-checks every 30 s
    with serving(app) as base:
        browser = Browser(base, ALICE, PASSWORDS[ALICE])
        other = Browser(base, ALICE, PASSWORDS[ALICE])
        chat = browser.chat()
        _, done = chat.ask("hello")
        assert done["type"] == "done"
        page = other.get("/settings")
        assert "Log out everywhere" in page
        body = urllib.parse.urlencode({"csrf_token": other.csrf}).encode()
        other.opener.open(
            urllib.request.Request(f"{base}/settings/logout-everywhere", data=body), timeout=30
        ).read()
        deadline = time.monotonic() + 15
        with pytest.raises(ConnectionClosed):
            while time.monotonic() < deadline:
                chat.ws.receive(timeout=1)
        assert time.monotonic() < deadline, "the socket stayed open"
