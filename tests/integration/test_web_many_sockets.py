"""Hundreds of open chat sockets on one gevent worker: pages still answer, and a new-mail
event reaches every socket of its user (and no other user's)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from support.chat_client import Browser, ChatSocket
from support.config import provision
from support.gunicorn import WebServer, gunicorn_web, request

from mailrs.config import load_settings
from mailrs.store.events import publish_event

pytestmark = pytest.mark.slow

USERS = ("alice@example.test", "bob@example.test", "carol@example.test", "dave@example.test")
SOCKETS = 200


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[WebServer, Path]]:
    config = provision(tmp_path_factory.mktemp("many"), users=USERS)
    with gunicorn_web(config, workers=1, MAILRS_AUTH_BASE_DELAY_SECS="0") as server:
        yield server, config


def test_pages_answer_and_notifications_reach_every_socket(web: tuple[WebServer, Path]) -> None:
    server, config = web
    browsers = {
        user: [Browser(server.base, user, f"{user.split('@')[0]} password") for _ in range(2)]
        for user in USERS
    }
    alice = USERS[0]
    plan = [browsers[alice][n % 2] for n in range(SOCKETS // 2)]  # half of them Alice's
    plan += [browsers[USERS[1 + n % 3]][n % 2] for n in range(SOCKETS - len(plan))]
    with ThreadPoolExecutor(max_workers=20) as pool:
        chats: list[ChatSocket] = list(pool.map(lambda browser: browser.chat(), plan))
    try:
        assert len(chats) == SOCKETS
        # every page still answers with all of them open
        for path, cookie in (("/login", ""), ("/", browsers[alice][0].cookie)):
            for _ in range(5):
                status, _, _ = request(
                    server.host, server.port, "GET", path, headers={"Cookie": cookie}, timeout=10
                )
                assert status == 200, path
        # a chat still answers a question
        _, done = chats[0].ask("hello")
        assert done["type"] == "done"
        time.sleep(1.0)  # every socket's handler has registered with the event hub

        settings = load_settings(config, environ={})
        event = {"kind": "new_mail", "folder": "INBOX", "subject": "Many", "from": "x@y.test"}
        publish_event(settings, alice, event)

        def notified(chat: ChatSocket) -> bool:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                raw = chat.ws.receive(timeout=max(0.1, deadline - time.monotonic()))
                if raw is None:
                    return False
                frame = json.loads(raw)
                if frame["type"] == "notification":
                    return frame["subject"] == "Many"
            return False

        with ThreadPoolExecutor(max_workers=50) as pool:
            got = list(pool.map(notified, chats[: SOCKETS // 2]))
        assert all(got), f"{got.count(False)} of Alice's sockets missed the notification"
        for other in chats[SOCKETS // 2 : SOCKETS // 2 + 5]:
            assert other.ws.receive(timeout=0.5) is None  # nothing of Alice's mail
    finally:
        with ThreadPoolExecutor(max_workers=20) as pool:
            list(pool.map(lambda chat: chat.close(), chats))
