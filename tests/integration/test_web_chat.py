"""The chat socket over a real WebSocket: handshake checks, streaming, buttons, history,
live notifications, bad frames; and the OpenAI-compatible engine against a local server
that speaks the chat-completions protocol (tool calls included).
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from simple_websocket import ConnectionError as WsConnectionError
from support.chat_client import Browser
from support.config import free_port, write_config
from support.web import ALICE, BOB, PASSWORDS, append_config, build_app, raw_message
from werkzeug.serving import make_server

from mailrs.config import AssistantSettings, Settings
from mailrs.queue.spool import Spool
from mailrs.store.events import publish_event
from mailrs.store.maildir import MaildirStore
from web.assistant.actions import Actions, Conversation
from web.assistant.llm import LlmEngine
from web.mailservice.mailbox import UserMailbox
from web.mailservice.sending import Outbox


@contextlib.contextmanager
def serving(app: Flask) -> Iterator[str]:
    """The app on a real threaded HTTP server until the block ends; yields its base URL."""
    port = free_port()
    httpd = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        httpd.shutdown()
        thread.join(10)
        app.extensions["mailrs"].database.dispose()


@pytest.fixture(scope="module")
def chat_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Flask]]:
    """The app on a real threaded HTTP server for the whole module."""
    config = append_config(
        write_config(tmp_path_factory.mktemp("chat")), "[auth]\nbase_delay_secs = 0.0"
    )
    app = build_app(config)
    store: MaildirStore = app.extensions["mailrs"].store
    store.deliver(
        ALICE, raw_message("Quarterly report", sender="Bob <bob@example.test>"), mtime=1e9
    )
    store.deliver(
        ALICE, raw_message("Lunch friday", sender="Dave <dave@remote.test>"), mtime=1e9 + 5
    )
    with serving(app) as base:
        yield base, app


@pytest.fixture(scope="module")
def alice(chat_server: tuple[str, Flask]) -> Browser:
    """Alice's logged-in browser session."""
    return Browser(chat_server[0], ALICE, PASSWORDS[ALICE])


def test_handshake_needs_login_csrf_and_same_origin(
    chat_server: tuple[str, Flask], alice: Browser
) -> None:
    base = chat_server[0]
    anonymous = Browser.__new__(Browser)
    anonymous.base, anonymous.csrf = base, alice.csrf
    anonymous.jar = __import__("http.cookiejar").cookiejar.CookieJar()
    for attempt in (
        lambda: anonymous.chat(),  # no session
        lambda: alice.chat(csrf=""),  # no CSRF token
        lambda: alice.chat(csrf="forged-token"),  # a wrong one
        lambda: alice.chat(origin="http://evil.example"),  # another site
    ):
        with pytest.raises(WsConnectionError):
            attempt()


def test_list_is_streamed_word_by_word_with_buttons(alice: Browser) -> None:
    chat = alice.chat()
    try:
        tokens, done = chat.ask("Liste mes emails")
        assert len(tokens) > 5
        assert "".join(tokens) == done["text"]
        assert done["text"].startswith("Vos messages les plus récents dans INBOX (2 affichés")
        assert "1. ● Dave — Lunch friday" in done["text"]
        assert {"label": "Lire le 1", "text": "lis le 1"} in done["buttons"]
        # pressing a text button = sending its text
        _tokens, read = chat.ask("lis le 1")
        assert "Lunch friday" in read["text"] and "Hello there." in read["text"]
    finally:
        chat.close()


def test_confirm_button_sends_over_the_socket(
    chat_server: tuple[str, Flask], alice: Browser
) -> None:
    store: MaildirStore = chat_server[1].extensions["mailrs"].store
    chat = alice.chat()
    try:
        _tokens, done = chat.ask(
            'send an email to bob@example.test subject "Hi" saying "Hello Bob"'
        )
        confirm = next(b for b in done["buttons"] if b.get("action") == "confirm")
        assert store.list_messages(ALICE, "Sent") == []
        chat.send({"type": "action", "action": "confirm", "id": confirm["id"]})
        _before, sent = chat.until("done")
        assert sent["text"].startswith("Sent to bob@example.test")
        assert len(store.list_messages(ALICE, "Sent")) == 1
        chat.send({"type": "action", "action": "confirm", "id": confirm["id"]})
        assert "nothing waiting" in chat.until("done")[1]["text"]
    finally:
        chat.close()


def test_bad_frames_get_errors_and_the_chat_goes_on(alice: Browser) -> None:
    chat = alice.chat()
    try:
        for frame in ("not json", "[1, 2]", json.dumps({"type": "nope"})):
            chat.ws.send(frame)
            assert chat.next()["type"] == "error"
        chat.send({"type": "message", "text": "x" * 5000})
        assert "characters" in chat.next()["error"]
        chat.send({"type": "message", "text": "   "})
        assert chat.next()["type"] == "error"
        chat.send({"type": "action", "action": "explode", "id": "x"})
        assert chat.next()["type"] == "error"
        assert chat.ask("show unread")[1]["text"]
    finally:
        chat.close()


def test_every_open_chat_of_the_user_gets_new_mail_notifications(
    chat_server: tuple[str, Flask], alice: Browser
) -> None:
    settings: Settings = chat_server[1].extensions["mailrs"].settings
    bob = Browser(chat_server[0], BOB, PASSWORDS[BOB])
    first, second, other = alice.chat(), alice.chat(), bob.chat()
    try:
        for chat in (first, second, other):  # the sockets are subscribed once they answer
            chat.ask("hello")
        event = {"kind": "new_mail", "folder": "INBOX", "subject": "Fresh", "from": "carol@x.test"}
        publish_event(settings, ALICE, event)
        for chat in (first, second):
            frame = chat.next(timeout=5)
            assert frame["type"] == "notification" and frame["kind"] == "new_mail"
            assert frame["subject"] == "Fresh" and "carol@x.test" in frame["text"]
        assert other.ws.receive(timeout=1.5) is None  # Bob hears nothing of Alice's mail
    finally:
        for chat in (first, second, other):
            chat.close()


def test_history_is_kept_per_user(chat_server: tuple[str, Flask], alice: Browser) -> None:
    chat = alice.chat()
    try:
        chat.ask("résume le dernier")
    finally:
        chat.close()
    page = alice.get("/chat")
    assert "résume le dernier" in page and "Résumé de" in page
    bob_page = Browser(chat_server[0], BOB, PASSWORDS[BOB]).get("/chat")
    assert "résume le dernier" not in bob_page


# -- the OpenAI-compatible engine --------------------------------------------------------------


class ChatCompletions(BaseHTTPRequestHandler):
    """A tiny chat-completions server: it calls a tool, then answers from the tool's result."""

    requests: list[dict[str, Any]] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), **body})
        messages = body["messages"]
        last = messages[-1]
        if last["role"] == "tool":
            message = {"role": "assistant", "content": f"Done. {last['content']}"}
        else:
            text = last["content"].lower()
            if "send" in text:
                call = (
                    "send_email",
                    {"to": ["bob@example.test"], "subject": "Hi", "body": "Hello"},
                )
            else:
                call = ("list_messages", {"folder": "INBOX"})
            message = {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": f"call_{len(self.requests)}",
                        "type": "function",
                        "function": {"name": call[0], "arguments": json.dumps(call[1])},
                    }
                ],
            }
        if body.get("stream"):
            self._stream(message)
            return
        reply = {
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        }
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _stream(self, message: dict[str, Any]) -> None:
        """The same message as server-sent events: content word by word, tool calls in parts."""
        deltas: list[dict[str, Any]] = []
        if message.get("content"):
            deltas += [{"content": word} for word in re.findall(r"\S+\s*", message["content"])]
        for index, call in enumerate(message.get("tool_calls") or []):
            arguments = call["function"]["arguments"]
            half = len(arguments) // 2
            deltas.append(
                {
                    "tool_calls": [
                        {
                            "index": index,
                            "id": call["id"],
                            "type": "function",
                            "function": {
                                "name": call["function"]["name"],
                                "arguments": arguments[:half],
                            },
                        }
                    ]
                }
            )
            deltas.append(
                {"tool_calls": [{"index": index, "function": {"arguments": arguments[half:]}}]}
            )
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for delta in deltas:
            chunk = {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": delta}]}
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.flush()
        self.wfile.write(b"data: [DONE]\n\n")
        self.close_connection = True

    def log_message(self, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def completions() -> Iterator[str]:
    """A local chat-completions endpoint."""
    ChatCompletions.requests = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), ChatCompletions)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()
    thread.join(10)


def _llm_engine(chat_server: tuple[str, Flask], endpoint: str) -> tuple[LlmEngine, UserMailbox]:
    resources = chat_server[1].extensions["mailrs"]
    settings = AssistantSettings(
        engine="openai", endpoint=endpoint, model="test-model", api_key="fake-key", timeout_secs=5
    )
    mailbox = UserMailbox(resources.store, ALICE, resources.settings)
    outbox = Outbox(resources.settings, resources.database, Spool(resources.settings.spool_path))
    return LlmEngine(Actions(mailbox, outbox, Conversation()), settings, []), mailbox


def test_llm_engine_uses_the_actions_as_tools(
    chat_server: tuple[str, Flask], completions: str
) -> None:
    engine, mailbox = _llm_engine(chat_server, completions)
    try:
        reply = engine.respond("show my emails please")
        first, second = ChatCompletions.requests
        assert first["path"] == "/v1/chat/completions" and first["auth"] == "Bearer fake-key"
        assert first["model"] == "test-model"
        names = {tool["function"]["name"] for tool in first["tools"]}
        assert {"list_messages", "read_message", "search_messages", "send_email"} <= names
        assert {"reply_to_message", "move_message", "delete_message", "mark_read"} <= names
        assert {"summarize", "list_unread"} <= names
        tool_message = second["messages"][-1]
        assert tool_message["role"] == "tool" and tool_message["tool_call_id"] == "call_1"
        assert "Lunch friday" in tool_message["content"]  # the real mailbox, through the action
        assert reply.text.startswith("Done. Your") and "Lunch friday" in reply.text
        assert any(b.get("text") for b in reply.buttons)
    finally:
        mailbox.close()


def test_llm_send_still_waits_for_the_confirm_button(
    chat_server: tuple[str, Flask], completions: str
) -> None:
    store: MaildirStore = chat_server[1].extensions["mailrs"].store
    before = len(store.list_messages(ALICE, "Sent"))
    engine, mailbox = _llm_engine(chat_server, completions)
    try:
        reply = engine.respond("send Bob a hello")
        confirm = next(b for b in reply.buttons if b.get("action") == "confirm")
        assert len(store.list_messages(ALICE, "Sent")) == before
        assert "Sent to bob@example.test" in engine.button("confirm", confirm["id"]).text
        assert len(store.list_messages(ALICE, "Sent")) == before + 1
    finally:
        mailbox.close()


def test_llm_endpoint_down_falls_back_to_the_offline_engine(chat_server: tuple[str, Flask]) -> None:
    engine, mailbox = _llm_engine(chat_server, f"http://127.0.0.1:{free_port()}/v1")
    try:
        reply = engine.respond("Liste mes emails")
        assert reply.text.startswith("(Le service d'assistant ne répond pas")
        assert "Lunch friday" in reply.text
    finally:
        mailbox.close()


@pytest.mark.redis
def test_notifications_travel_over_redis_pub_sub(tmp_path: Path) -> None:
    from support.brokers import redis_test_url

    config = append_config(
        write_config(tmp_path, broker_url=redis_test_url()), "[auth]\nbase_delay_secs = 0.0"
    )
    app = build_app(config)
    with serving(app) as base:
        chat = Browser(base, ALICE, PASSWORDS[ALICE]).chat()
        try:
            chat.ask("hello")
            settings: Settings = app.extensions["mailrs"].settings
            event = {
                "kind": "new_mail",
                "folder": "INBOX",
                "subject": "Via Redis",
                "from": "x@y.test",
            }
            publish_event(settings, ALICE, event)
            frame = chat.next(timeout=5)
            assert frame["type"] == "notification" and frame["subject"] == "Via Redis"
        finally:
            chat.close()


def test_chat_socket_with_the_llm_engine_streams_the_models_words(
    tmp_path: Path, completions: str
) -> None:
    config = append_config(
        write_config(tmp_path),
        "[auth]\nbase_delay_secs = 0.0\n"
        f'[assistant]\nengine = "openai"\nendpoint = "{completions}"',
    )
    app = build_app(config)
    app.extensions["mailrs"].store.deliver(ALICE, raw_message("Board meeting"))
    with serving(app) as base:
        chat = Browser(base, ALICE, PASSWORDS[ALICE]).chat()
        try:
            tokens, done = chat.ask("show my emails")
            assert len(tokens) > 5 and "".join(tokens) == done["text"]
            assert done["text"].startswith("Done. Your") and "Board meeting" in done["text"]
            assert ChatCompletions.requests[0]["stream"] is True
        finally:
            chat.close()


def test_llm_answers_stream_from_the_endpoint(
    chat_server: tuple[str, Flask], completions: str
) -> None:
    engine, mailbox = _llm_engine(chat_server, completions)
    pieces: list[str] = []
    try:
        reply = engine.respond("show my emails please", on_token=pieces.append)
        assert all(request["stream"] is True for request in ChatCompletions.requests)
        tool_round = ChatCompletions.requests[1]["messages"]
        call = tool_round[-2]["tool_calls"][0]  # assembled from two deltas
        assert call["function"] == {"name": "list_messages", "arguments": '{"folder": "INBOX"}'}
        assert len(pieces) > 5 and "".join(pieces) == reply.text
        assert reply.text.startswith("Done. Your") and "Lunch friday" in reply.text
    finally:
        mailbox.close()


def test_an_oversized_frame_closes_only_that_socket(alice: Browser) -> None:
    from simple_websocket import ConnectionClosed

    big, small = alice.chat(), alice.chat()
    try:
        big.ws.send("x" * (64 * 1024))
        with pytest.raises(ConnectionClosed, match="1009"):
            while big.ws.receive(timeout=5) is not None:
                pass
        assert small.ask("show my emails")[1]["text"]  # the server goes on
    finally:
        small.close()
