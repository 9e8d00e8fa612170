"""A client of the OpenAI chat-completions protocol, streaming (server-sent events) or not.

``complete`` posts the conversation and the tools and returns the assistant message
(``content`` and ``tool_calls``). With ``on_token`` it asks for ``"stream": true`` and
hands each piece of content to ``on_token`` as it arrives, assembling tool calls from
their deltas; an endpoint that answers with plain JSON instead is understood as well.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from typing import Any

from mailrs.config import AssistantSettings

MAX_RESPONSE_BYTES = 1024 * 1024


def endpoint_url(settings: AssistantSettings) -> str:
    """The chat-completions URL of the configured endpoint."""
    url = settings.endpoint.rstrip("/")
    return url if url.endswith("/chat/completions") else url + "/chat/completions"


def complete(
    settings: AssistantSettings,
    messages: list[dict[str, Any]],
    tools: list[dict[str, Any]],
    on_token: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """The assistant message the endpoint answers; raises OSError/ValueError on failure."""
    payload: dict[str, Any] = {
        "model": settings.model,
        "messages": messages,
        "tools": tools,
        "tool_choice": "auto",
    }
    if on_token is not None:
        payload["stream"] = True
    headers = {"Content-Type": "application/json", "Accept": "text/event-stream, application/json"}
    if settings.api_key:
        headers["Authorization"] = f"Bearer {settings.api_key}"
    request = urllib.request.Request(
        endpoint_url(settings), data=json.dumps(payload).encode(), headers=headers, method="POST"
    )
    with urllib.request.urlopen(request, timeout=settings.timeout_secs) as response:
        if "text/event-stream" in response.headers.get("Content-Type", ""):
            return _assemble_stream(response, on_token or (lambda _token: None))
        data = json.loads(response.read(MAX_RESPONSE_BYTES))
    if not isinstance(data, dict):
        raise ValueError("the endpoint did not answer a JSON object")
    message = data["choices"][0]["message"]
    if not isinstance(message, dict):
        raise ValueError("no message in the endpoint's answer")
    return message


def _assemble_stream(response: Any, on_token: Callable[[str], None]) -> dict[str, Any]:
    """Read ``data:`` events until ``[DONE]``; content goes to ``on_token`` as it comes."""
    content: list[str] = []
    calls: dict[int, dict[str, Any]] = {}
    total = 0
    for raw in response:
        total += len(raw)
        if total > MAX_RESPONSE_BYTES:
            raise ValueError("the endpoint's answer is too long")
        line = raw.decode("utf-8", "replace").strip()
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            break
        chunk = json.loads(data)
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or {}
            piece = delta.get("content")
            if piece:
                content.append(piece)
                on_token(piece)
            for call in delta.get("tool_calls") or []:
                slot = calls.setdefault(
                    int(call.get("index", 0)),
                    {"id": "", "type": "function", "function": {"name": "", "arguments": ""}},
                )
                slot["id"] = call.get("id") or slot["id"]
                function = call.get("function") or {}
                slot["function"]["name"] += function.get("name") or ""
                slot["function"]["arguments"] += function.get("arguments") or ""
    message: dict[str, Any] = {"role": "assistant", "content": "".join(content) or None}
    if calls:
        message["tool_calls"] = [calls[i] for i in sorted(calls)]
    return message
