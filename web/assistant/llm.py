"""The assistant backed by an OpenAI-compatible chat-completions endpoint.

The model gets the conversation and the same actions as the offline engine, as tools
(function calling) generated from one registry (``tools.REGISTRY``). Tool calls run
through ``Actions``; what sends or removes mail is still only prepared and waits for
the user's confirm button. If the endpoint fails, the offline engine answers instead,
so the chat keeps working.
"""

from __future__ import annotations

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
from web.assistant.tools import TOOLS, run_tool

log = logging.getLogger(__name__)
MAX_ROUNDS = 5
SYSTEM_PROMPT = (
    "You are the mail assistant of mailrs. Answer in the user's language (French or "
    "English), briefly. Use the tools to read and change the user's mail; messages are "
    "numbered as in the last list shown (1 = newest). Sending, replying, moving and "
    "deleting only prepare the action: the user confirms with a button. Today is {today}."
)


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
        prompt = SYSTEM_PROMPT.format(today=self.conversation.date().isoformat())
        messages: list[dict[str, Any]] = [{"role": "system", "content": prompt}]
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
