"""The chat blueprint: the assistant page and the ``/ws/chat`` WebSocket (flask-sock).

Protocol (DESIGN.md): the client sends ``{"type": "message", "text": …}`` or, for a
pressed confirm/cancel button, ``{"type": "action", "action": …, "id": …}``; the server
streams ``{"type": "token", "text": …}`` word by word, then ``{"type": "done",
"buttons": […]}``; new mail arrives as ``{"type": "notification", …}``; a bad frame gets
``{"type": "error", "error": …}``. The handshake needs a logged-in session, the CSRF
token (``?csrf_token=``) and, when the browser sends one, an Origin of this site.

One thread serves one socket: it waits for a frame for a quarter of a second at a time
and in between forwards the user's mailbox events, so a delivery shows up well within
a second.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Flask, abort, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from flask_sock import ConnectionClosed, Sock
from flask_wtf.csrf import validate_csrf
from wtforms.validators import ValidationError

from mailrs.store.events import (
    Expunged,
    FlagsChanged,
    MailboxEvent,
    NewMail,
    Subscription,
    subscribe,
)
from web.assistant import history
from web.assistant.actions import Actions, Conversation, Reply
from web.assistant.engine import OfflineEngine
from web.assistant.language import detect_language
from web.assistant.llm import LlmEngine
from web.assistant.phrases import say
from web.assistant.streaming import tokens
from web.mailservice.mailbox import UserMailbox
from web.resources import Resources, get_resources

bp = Blueprint("chat", __name__)
log = logging.getLogger(__name__)

WS_PATH = "/ws/chat"
MAX_FRAME = 16 * 1024
POLL_SECS = 0.25
TOKEN_PAUSE_SECS = 0.01


def init_app(app: Flask) -> None:
    """Register the page, the socket and the handshake checks."""
    app.config.setdefault(
        "SOCK_SERVER_OPTIONS", {"max_message_size": MAX_FRAME, "ping_interval": 25}
    )
    sock = Sock(app)
    sock.route(WS_PATH)(chat_socket)
    app.before_request(_check_handshake)
    app.register_blueprint(bp)


@bp.get("/chat")
@login_required
def page() -> ResponseReturnValue:
    """The assistant on a page of its own, with the user's recent conversation."""
    resources = get_resources()
    turns = history.recent(
        resources.database, current_user.id, resources.settings.assistant.history_limit
    )
    return render_template("chat.html", turns=turns), 200, {"Cache-Control": "private, no-store"}


def _check_handshake() -> None:
    """Refuse a chat socket without a session, a valid CSRF token, or from another site."""
    if request.path != WS_PATH:
        return
    if not current_user.is_authenticated:
        abort(401)
    try:
        validate_csrf(request.args.get("csrf_token", ""))
    except ValidationError:
        abort(400, "missing or invalid CSRF token")
    origin = request.headers.get("Origin")
    if origin and not same_origin(origin, request.host):
        abort(403, "cross-site WebSocket refused")


def same_origin(origin: str, host: str) -> bool:
    """True when a browser's Origin names this host (and port, when the Host has one)."""
    parts = urlsplit(origin)
    name, _, port = host.rpartition(":") if host.count(":") == 1 else (host, "", "")
    if parts.hostname != (name or host).lower():
        return False
    return not port or str(parts.port or {"http": 80, "https": 443}.get(parts.scheme)) == port


class ChatSession:
    """One open chat: the engine, the user's event feed and the socket."""

    def __init__(self, ws: Any, resources: Resources, user_id: int, address: str) -> None:
        self.ws = ws
        self.resources = resources
        self.user_id = user_id
        settings = resources.settings
        self.mailbox = UserMailbox(resources.store, address, settings, source="assistant")
        turns = history.recent(resources.database, user_id, settings.assistant.history_limit)
        self.conversation = Conversation(lang=_last_language(turns))
        actions = Actions(self.mailbox, resources.outbox, self.conversation)
        self.engine: OfflineEngine = (
            LlmEngine(actions, settings.assistant, turns)
            if settings.assistant.engine == "openai"
            else OfflineEngine(actions)
        )

    def send(self, frame: dict[str, Any]) -> None:
        """Send one JSON frame."""
        self.ws.send(json.dumps(frame, ensure_ascii=False))

    def stream(self, reply: Reply, streamed: bool = False) -> None:
        """The reply word by word (unless the engine streamed it already), then ``done``."""
        if not streamed:
            for token in tokens(reply.text):
                self.send({"type": "token", "text": token})
                time.sleep(TOKEN_PAUSE_SECS)
        history.record(self.resources.database, self.user_id, "assistant", reply.text)
        self.send({"type": "done", "text": reply.text, "buttons": reply.buttons})

    def handle(self, raw: str | bytes) -> None:
        """Answer one frame from the browser."""
        try:
            frame = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            frame = None
        if not isinstance(frame, dict):
            self.send({"type": "error", "error": "send a JSON object"})
            return
        limit = self.resources.settings.assistant.max_message_chars
        if frame.get("type") == "message" and isinstance(frame.get("text"), str):
            text = frame["text"].strip()
            if not text or len(text) > limit:
                self.send({"type": "error", "error": f"a message needs 1 to {limit} characters"})
                return
            history.record(self.resources.database, self.user_id, "user", text)
            sent: list[str] = []

            def forward(token: str) -> None:
                sent.append(token)
                self.send({"type": "token", "text": token})

            reply = self.engine.respond(text, on_token=forward)
            self.stream(reply, streamed=bool(sent) and "".join(sent).endswith(reply.text))
        elif frame.get("type") == "action" and frame.get("action") in ("confirm", "cancel"):
            pid = frame.get("id")
            self.stream(self.engine.button(frame["action"], pid if isinstance(pid, str) else None))
        else:
            self.send({"type": "error", "error": "unknown frame type"})

    def notify(self, event: MailboxEvent) -> None:
        """Forward a mailbox event; new mail gets a sentence in the user's language."""
        frame: dict[str, Any] = {
            "type": "notification",
            "kind": event.kind,
            "folder": event.folder,
        }
        if isinstance(event, NewMail):
            subject = event.subject or say("no_subject", self.conversation.lang)
            frame.update(
                subject=subject,
                **{"from": event.sender},
                text=say("new_mail", self.conversation.lang, sender=event.sender, subject=subject),
            )
        elif isinstance(event, FlagsChanged | Expunged):
            frame["uids"] = list(event.uids)
        self.send(frame)

    def run(self, events: Subscription) -> None:
        """Serve frames and events until the browser goes away."""
        while True:
            raw = self.ws.receive(timeout=POLL_SECS)
            if raw is not None:
                try:
                    self.handle(raw)
                except ConnectionClosed:
                    raise
                except Exception:  # noqa: BLE001 - one bad request never ends the chat
                    log.exception("chat request failed for %s", self.mailbox.address)
                    self.send({"type": "error", "error": "Sorry, that failed. Please try again."})
            while (event := events.get_event(0)) is not None:
                self.notify(event)

    def close(self) -> None:
        """Release the mailbox index."""
        self.mailbox.close()


def chat_socket(ws: Any) -> None:
    """The ``/ws/chat`` handler (the handshake was checked by ``_check_handshake``)."""
    resources = get_resources()
    chat = ChatSession(ws, resources, current_user.id, current_user.address)
    try:
        with subscribe(resources.settings, current_user.address) as events:
            chat.run(events)
    except ConnectionClosed:
        pass
    finally:
        chat.close()


def _last_language(turns: list[tuple[str, str]]) -> str:
    for role, text in reversed(turns):
        if role == "user":
            return detect_language(text)
    return "en"
