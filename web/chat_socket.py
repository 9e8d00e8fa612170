"""The ``/ws/chat`` socket itself: one ``ChatSession`` per open chat (``web.chat`` wires it).

Imported by the first chat socket opened, with flask-sock's ``simple_websocket``
(wsproto, h11) and the assistant's engines, actions and phrases: an idle web app loads
none of them (``tests/integration/test_service_imports.py``).
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from typing import Any

from flask import current_app
from flask_login import current_user
from simple_websocket import ConnectionClosed

from mailrs.accounts.sessions import is_live
from mailrs.store.events import (
    Expunged,
    FlagsChanged,
    MailboxEvent,
    NewMail,
    event_from_json,
)
from web.assistant import history
from web.assistant.actions import Actions, Conversation, Reply
from web.assistant.engine import OfflineEngine
from web.assistant.language import detect_language
from web.assistant.llm import LlmEngine
from web.assistant.phrases import say
from web.assistant.streaming import tokens
from web.mailservice.mailbox import UserMailbox
from web.notifications import HUB_KEY, EventHub
from web.resources import Resources, close_db_session, get_resources

log = logging.getLogger("web.chat")

LIVENESS_SECS = 30.0
TOKEN_PAUSE_SECS = 0.01


class ChatSession:
    """One open chat: the engine, the user's event feed and the socket."""

    def __init__(self, ws: Any, resources: Resources, user_id: int, address: str) -> None:
        self.ws = ws
        self.resources = resources
        self.user_id = user_id
        self._send_lock = threading.Lock()
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
        """Send one JSON frame (whole: the reply and the event pump never interleave)."""
        with self._send_lock:
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

    def notify(self, raw: dict[str, Any] | MailboxEvent) -> None:
        """Forward a mailbox event; new mail gets a sentence in the user's language."""
        event = event_from_json(raw) if isinstance(raw, dict) else raw
        if event is None:
            return  # an event kind this chat does not show
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

    def run(self) -> None:
        """Serve the browser's frames until it goes away (ConnectionClosed)."""
        while True:
            raw = self.ws.receive()
            if raw is None:
                continue
            try:
                self.handle(raw)
            except ConnectionClosed:
                raise
            except Exception:  # noqa: BLE001 - one bad request never ends the chat
                log.exception("chat request failed for %s", self.mailbox.address)
                self.send({"type": "error", "error": "Sorry, that failed. Please try again."})
            finally:
                self.mailbox.close()  # hold no index between messages

    def pump(
        self,
        events: queue.SimpleQueue[dict[str, Any] | None],
        uid: str,
        sid: str,
        liveness_secs: float = LIVENESS_SECS,
    ) -> None:
        """Forward queued mailbox events; close the socket once the login session is gone."""
        last_check = time.monotonic()
        while True:
            try:
                event = events.get(timeout=liveness_secs)
            except queue.Empty:
                event = {}
            if event is None:
                return
            try:
                if time.monotonic() - last_check >= liveness_secs:
                    last_check = time.monotonic()
                    if not self._session_live(sid, uid):
                        self.ws.close(reason=1008, message="session ended")
                        return
                if event:
                    self.notify(event)
            except (ConnectionClosed, OSError):
                return

    def _session_live(self, sid: str, uid: str) -> bool:
        """Whether the login session still lives; a database outage does not end chats."""
        try:
            with self.resources.database.session() as db:
                return is_live(db, sid, uid)
        except Exception as exc:  # noqa: BLE001 - checked again at the next interval
            log.warning("cannot check the session of a chat: %s", exc)
            return True

    def close(self) -> None:
        """Release the mailbox index."""
        self.mailbox.close()


def chat_socket(ws: Any) -> None:
    """The ``/ws/chat`` handler (the handshake was checked by ``_check_handshake``)."""
    resources = get_resources()
    user = current_user._get_current_object()
    close_db_session()  # the handshake's connection goes back to the pool before we wait
    chat = ChatSession(ws, resources, user.id, user.address)
    hub: EventHub = current_app.extensions[HUB_KEY]
    events: queue.SimpleQueue[dict[str, Any] | None] = queue.SimpleQueue()
    stop = hub.listen(user.address, events.put)
    liveness = float(current_app.config.get("CHAT_LIVENESS_SECS", LIVENESS_SECS))
    pump = threading.Thread(
        target=chat.pump,
        args=(events, user.uid, user.sid, liveness),
        name="chat-pump",
        daemon=True,
    )
    pump.start()
    try:
        chat.run()
    except ConnectionClosed:
        pass
    finally:
        stop()
        events.put(None)
        chat.close()


def _last_language(turns: list[tuple[str, str]]) -> str:
    for role, text in reversed(turns):
        if role == "user":
            return detect_language(text)
    return "en"
