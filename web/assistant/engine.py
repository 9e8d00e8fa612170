"""The offline assistant: rules over the request (``intents``) and the shared actions."""

from __future__ import annotations

from collections.abc import Callable

from web.assistant.actions import Actions, Conversation, Reply
from web.assistant.intents import Intent, classify
from web.assistant.language import detect_language
from web.assistant.phrases import say
from web.mailservice.errors import ServiceError


class OfflineEngine:
    """Answers requests with the built-in rules; needs no outside service."""

    def __init__(self, actions: Actions) -> None:
        self.actions = actions

    @property
    def conversation(self) -> Conversation:
        """The state of this chat."""
        return self.actions.conv

    def respond(self, text: str, on_token: Callable[[str], None] | None = None) -> Reply:
        """The answer to one typed request (computed at once: ``on_token`` is not used)."""
        conv = self.conversation
        conv.lang = detect_language(text, conv.lang)
        intent = classify(text, pending=bool(conv.pending), today=conv.date())
        awaiting, conv.awaiting = conv.awaiting, None
        if awaiting is not None and intent.kind == "unknown":
            return self._guarded(lambda: awaiting(text.strip()))
        return self._guarded(lambda: self.run(intent))

    def button(self, action: str, pid: str | None) -> Reply:
        """The answer to a pressed confirm or cancel button."""
        if action == "confirm":
            return self._guarded(lambda: self.actions.confirm(pid))
        if action == "cancel":
            return self.actions.cancel(pid)
        return Reply(say("unknown", self.conversation.lang))

    def _guarded(self, call) -> Reply:  # type: ignore[no-untyped-def]
        try:
            reply: Reply = call()
        except ServiceError as exc:
            return Reply(say("error", self.conversation.lang, reason=str(exc)))
        return reply

    def run(self, intent: Intent) -> Reply:
        """Carry out one intent."""
        a = self.actions
        lang = self.conversation.lang
        match intent.kind:
            case "confirm":
                return a.confirm()
            case "cancel":
                return a.cancel()
            case "help":
                return Reply(say("help", lang), _starters(a))
            case "list":
                return a.list_messages(intent.folder or "INBOX", intent.since)
            case "unread":
                return a.unread(intent.since)
            case "read":
                return a.read(intent.target)
            case "search":
                return a.search(intent.sender, intent.subject, intent.text, intent.since)
            case "send":
                return a.prepare_send(intent.to, intent.subject, intent.body)
            case "reply":
                return a.prepare_reply(intent.target, intent.body)
            case "delete":
                return a.prepare_delete(intent.target)
            case "move":
                return a.prepare_move(intent.target, intent.folder)
            case "mark_read":
                return a.mark(intent.target, read=True)
            case "mark_unread":
                return a.mark(intent.target, read=False)
            case "summarize":
                return a.summarize(intent.target, intent.thread)
        return Reply(say("unknown", lang), _starters(a))


def _starters(actions: Actions) -> list[dict[str, str]]:
    return [
        actions.button("list", "list_text"),
        actions.button("unread", "unread_text"),
        actions.button("read_latest", "read_latest_text"),
    ]
