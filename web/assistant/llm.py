"""The assistant backed by an OpenAI-compatible chat-completions endpoint.

The model gets the conversation and the same actions as the offline engine, as tools
(function calling). Tool calls run through ``Actions``; what sends or removes mail is
still only prepared and waits for the user's confirm button. If the endpoint fails, the
offline engine answers instead, so the chat keeps working.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import urllib.error
from collections.abc import Callable
from typing import Any

from mailrs.config import AssistantSettings
from web.assistant.actions import Actions, Reply
from web.assistant.completions import complete
from web.assistant.engine import OfflineEngine
from web.assistant.language import detect_language
from web.assistant.phrases import say

log = logging.getLogger(__name__)
MAX_ROUNDS = 5
SYSTEM_PROMPT = (
    "You are the mail assistant of mailrs. Answer in the user's language (French or "
    "English), briefly. Use the tools to read and change the user's mail; messages are "
    "numbered as in the last list shown (1 = newest). Sending, replying, moving and "
    "deleting only prepare the action: the user confirms with a button."
)


def _tool(name: str, description: str, properties: dict[str, Any], required: list[str]) -> dict:
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {"type": "object", "properties": properties, "required": required},
        },
    }


TARGET = {
    "type": ["integer", "string"],
    "description": "number in the last list, or 'last' for the newest message",
}
TOOLS = [
    _tool(
        "list_messages", "List the newest messages of a folder", {"folder": {"type": "string"}}, []
    ),
    _tool("list_unread", "List unread messages", {}, []),
    _tool("read_message", "Show one message", {"target": TARGET}, ["target"]),
    _tool(
        "search_messages",
        "Search by sender, subject, text and date (YYYY-MM-DD)",
        {
            "sender": {"type": "string"},
            "subject": {"type": "string"},
            "text": {"type": "string"},
            "since": {"type": "string"},
        },
        [],
    ),
    _tool(
        "send_email",
        "Prepare a new email (the user confirms before it is sent)",
        {
            "to": {"type": "array", "items": {"type": "string"}},
            "subject": {"type": "string"},
            "body": {"type": "string"},
        },
        ["to", "body"],
    ),
    _tool(
        "reply_to_message",
        "Prepare a reply (the user confirms before it is sent)",
        {"target": TARGET, "body": {"type": "string"}},
        ["target", "body"],
    ),
    _tool(
        "move_message",
        "Prepare moving a message to a folder",
        {"target": TARGET, "folder": {"type": "string"}},
        ["target", "folder"],
    ),
    _tool("delete_message", "Prepare moving a message to Trash", {"target": TARGET}, ["target"]),
    _tool(
        "mark_read",
        "Mark a message read or unread",
        {"target": TARGET, "read": {"type": "boolean"}},
        ["target"],
    ),
    _tool(
        "summarize",
        "Summarize a message or its whole thread",
        {"target": TARGET, "thread": {"type": "boolean"}},
        ["target"],
    ),
]


def _target(value: Any) -> int | str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        if text.isdigit():
            return int(text)
        if text in ("last", "latest", "newest", "dernier"):
            return "last"
        if text in ("current", "this"):
            return "current"
    return None


def _since(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if isinstance(value, str) and value else None
    except ValueError:
        return None


def run_tool(actions: Actions, name: str, args: dict[str, Any]) -> Reply:
    """Carry out one tool call with the shared actions."""
    text = lambda key: str(args.get(key) or "")  # noqa: E731
    match name:
        case "list_messages":
            return actions.list_messages(text("folder") or "INBOX")
        case "list_unread":
            return actions.unread()
        case "read_message":
            return actions.read(_target(args.get("target")))
        case "search_messages":
            return actions.search(
                text("sender"), text("subject"), text("text"), _since(args.get("since"))
            )
        case "send_email":
            to = args.get("to") or []
            recipients = [to] if isinstance(to, str) else [str(a) for a in to]
            return actions.prepare_send(recipients, text("subject"), text("body"))
        case "reply_to_message":
            return actions.prepare_reply(_target(args.get("target")), text("body"))
        case "move_message":
            return actions.prepare_move(_target(args.get("target")), text("folder") or None)
        case "delete_message":
            return actions.prepare_delete(_target(args.get("target")))
        case "mark_read":
            return actions.mark(
                _target(args.get("target")), read=args.get("read", True) is not False
            )
        case "summarize":
            return actions.summarize(_target(args.get("target")), bool(args.get("thread")))
    return Reply(f"unknown tool {name!r}")


class LlmEngine(OfflineEngine):
    """Free text through the configured model; buttons and confirmations as offline."""

    def __init__(
        self, actions: Actions, settings: AssistantSettings, history: list[tuple[str, str]]
    ):
        super().__init__(actions)
        self.settings = settings
        self.history = list(history)

    def respond(self, text: str, on_token: Callable[[str], None] | None = None) -> Reply:
        """Ask the model (its words go to ``on_token`` as they come); offline on failure."""
        conv = self.conversation
        conv.lang = detect_language(text, conv.lang)
        if conv.pending and text.strip().lower() in (
            "oui",
            "yes",
            "ok",
            "non",
            "no",
            "annule",
            "cancel",
        ):
            return super().respond(text)
        try:
            reply = self._converse(text, on_token)
        except (OSError, ValueError, KeyError, TypeError, urllib.error.URLError) as exc:
            log.warning("assistant endpoint failed: %s", exc)
            fallback = super().respond(text)
            return Reply(say("llm_down", conv.lang) + fallback.text, fallback.buttons)
        self.history += [("user", text), ("assistant", reply.text)]
        return reply

    def _converse(self, text: str, on_token: Callable[[str], None] | None) -> Reply:
        messages: list[dict[str, Any]] = [{"role": "system", "content": SYSTEM_PROMPT}]
        messages += [{"role": role, "content": content} for role, content in self.history[-20:]]
        messages.append({"role": "user", "content": text})
        buttons: list[dict[str, str]] = []
        for _ in range(MAX_ROUNDS):
            choice = complete(self.settings, messages, TOOLS, on_token)
            calls = choice.get("tool_calls") or []
            if not calls:
                return Reply(str(choice.get("content") or ""), buttons)
            messages.append(
                {"role": "assistant", "content": choice.get("content"), "tool_calls": calls}
            )
            for call in calls:
                function = call["function"]
                try:
                    args = json.loads(function.get("arguments") or "{}")
                except json.JSONDecodeError:
                    args = {}
                result = self._guarded(
                    lambda f=function, a=args: run_tool(
                        self.actions, f["name"], a if isinstance(a, dict) else {}
                    )
                )
                if result.buttons:
                    buttons = result.buttons
                messages.append(
                    {"role": "tool", "tool_call_id": call.get("id", ""), "content": result.text}
                )
        return Reply(messages[-1].get("content") or "", buttons)
