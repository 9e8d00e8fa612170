"""The one registry of the assistant's actions as tools for the LLM engine.

Each ``Tool`` names an ``Actions`` method (the same ones the offline engine calls), its
parameters and how to call it; ``TOOLS`` (the JSON-schema function definitions sent to
an OpenAI-compatible endpoint) and ``run_tool`` are both generated from ``REGISTRY``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from web.assistant.actions import Actions, Reply
from web.assistant.finder import Criteria
from web.assistant.language import fold


@dataclass(frozen=True)
class Param:
    """One parameter of a tool, as JSON schema."""

    type: str | list[str]
    description: str = ""
    required: bool = False
    items: str = ""


@dataclass(frozen=True)
class Tool:
    """An action offered to the model."""

    name: str
    description: str
    params: dict[str, Param]
    call: Callable[[Actions, dict[str, Any]], Reply]

    def schema(self) -> dict[str, Any]:
        """The OpenAI function-calling definition."""
        properties: dict[str, Any] = {}
        for name, param in self.params.items():
            prop: dict[str, Any] = {"type": param.type}
            if param.description:
                prop["description"] = param.description
            if param.items:
                prop["items"] = {"type": param.items}
            properties[name] = prop
        required = [n for n, p in self.params.items() if p.required]
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": {"type": "object", "properties": properties, "required": required},
            },
        }


def target(value: Any) -> int | str | None:
    """A message reference from the model: a list number, "last" or "current"."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        if text.isdigit():
            return int(text)
        if text in ("last", "latest", "newest", "dernier"):
            return "last"
        if text in ("current", "this", "it"):
            return "current"
    return None


def day(value: Any) -> dt.date | None:
    """A YYYY-MM-DD date, or None."""
    try:
        return dt.date.fromisoformat(value) if isinstance(value, str) and value else None
    except ValueError:
        return None


def criteria(args: dict[str, Any]) -> Criteria:
    """Criteria from the search parameters every finding tool shares."""
    text = lambda key: fold(str(args.get(key) or "")).strip()  # noqa: E731
    until = day(args.get("until"))
    kind = text("attachment_type")
    return Criteria(
        senders=(text("sender"),) if text("sender") else (),
        recipients=(text("recipient"),) if text("recipient") else (),
        topics=tuple(f"{text('subject')} {text('text')}".split()),
        start=day(args.get("since")),
        end=until + dt.timedelta(days=1) if until else None,
        folders=(str(args["folder"]),) if args.get("folder") else (),
        unread=bool(args.get("unread")),
        flagged=bool(args.get("flagged")),
        attachments=bool(args.get("has_attachment")) or bool(kind),
        kinds=(kind,) if kind else (),
        min_size=int(args.get("min_size_kb") or 0) * 1000,
    )


TARGET = Param(["integer", "string"], "number in the last list, 'last' or 'current'", True)
FIND = {
    "sender": Param("string", "name or address of the sender"),
    "recipient": Param("string", "name or address of a recipient (searches Sent)"),
    "subject": Param("string", "words of the subject"),
    "text": Param("string", "topic words anywhere in the message"),
    "since": Param("string", "first day, YYYY-MM-DD"),
    "until": Param("string", "last day, YYYY-MM-DD"),
    "unread": Param("boolean"),
    "flagged": Param("boolean"),
    "has_attachment": Param("boolean"),
    "attachment_type": Param("string", "pdf, sheet, image, archive or document"),
    "folder": Param("string"),
    "min_size_kb": Param("integer"),
}


def _s(args: dict[str, Any], key: str) -> str:
    return str(args.get(key) or "")


def _list(args: dict[str, Any], key: str) -> list[str]:
    value = args.get(key) or []
    return [value] if isinstance(value, str) else [str(v) for v in value]


REGISTRY: tuple[Tool, ...] = (
    Tool(
        "list_messages",
        "List the newest messages of a folder",
        {"folder": Param("string")},
        lambda a, x: a.list_messages(_s(x, "folder") or "INBOX"),
    ),
    Tool("list_unread", "List unread messages", {}, lambda a, x: a.unread()),
    Tool(
        "search_messages",
        "Find messages by sender, recipient, topic, dates, flags, attachments and size",
        FIND,
        lambda a, x: a.search(criteria=criteria(x)),
    ),
    Tool(
        "count_messages",
        "Count the messages that fit the criteria",
        FIND,
        lambda a, x: a.count(criteria(x)),
    ),
    Tool(
        "top_senders",
        "Who wrote most among the messages that fit",
        FIND,
        lambda a, x: a.stats(criteria(x)),
    ),
    Tool(
        "digest",
        "A digest of unread mail (or of the messages that fit)",
        FIND,
        lambda a, x: a.digest(criteria({"unread": True, **x}) if not x else criteria(x)),
    ),
    Tool(
        "urgent_messages",
        "Messages that look urgent",
        FIND,
        lambda a, x: a.urgent(criteria(x)),
    ),
    Tool(
        "list_attachments",
        "Attachments by sender, type and date",
        FIND,
        lambda a, x: a.attachments(criteria(x)),
    ),
    Tool(
        "read_message",
        "Show one message",
        {"target": TARGET},
        lambda a, x: a.read(target(x.get("target"))),
    ),
    Tool(
        "summarize",
        "Summarize a message or its whole thread",
        {"target": TARGET, "thread": Param("boolean")},
        lambda a, x: a.summarize(target(x.get("target")), bool(x.get("thread"))),
    ),
    Tool(
        "send_email",
        "Prepare a new email (the user confirms before it is sent)",
        {
            "to": Param("array", required=True, items="string"),
            "subject": Param("string"),
            "body": Param("string", required=True),
        },
        lambda a, x: a.prepare_send(_list(x, "to"), _s(x, "subject"), _s(x, "body")),
    ),
    Tool(
        "reply_to_message",
        "Prepare a reply (the user confirms before it is sent)",
        {"target": TARGET, "body": Param("string", required=True)},
        lambda a, x: a.prepare_reply(target(x.get("target")), _s(x, "body")),
    ),
    Tool(
        "forward_message",
        "Prepare forwarding a message (the user confirms before it is sent)",
        {"target": TARGET, "to": Param("array", required=True, items="string")},
        lambda a, x: a.prepare_forward(target(x.get("target")), _list(x, "to")),
    ),
    Tool(
        "move_message",
        "Prepare moving a message to a folder",
        {"target": TARGET, "folder": Param("string", required=True)},
        lambda a, x: a.prepare_move(target(x.get("target")), _s(x, "folder") or None),
    ),
    Tool(
        "delete_message",
        "Prepare moving a message to Trash",
        {"target": TARGET},
        lambda a, x: a.prepare_delete(target(x.get("target"))),
    ),
    Tool(
        "flag_message",
        "Prepare flagging a message",
        {"target": TARGET},
        lambda a, x: a.prepare_flag(target(x.get("target"))),
    ),
    Tool(
        "mark_read",
        "Prepare marking a message read or unread",
        {"target": TARGET, "read": Param("boolean")},
        lambda a, x: a.prepare_mark([target(x.get("target"))], x.get("read", True) is not False),
    ),
)
BY_NAME = {tool.name: tool for tool in REGISTRY}
TOOLS = [tool.schema() for tool in REGISTRY]


def run_tool(actions: Actions, name: str, args: dict[str, Any]) -> Reply:
    """Carry out one tool call with the shared actions."""
    tool = BY_NAME.get(name)
    if tool is None:
        return Reply(f"unknown tool {name!r}")
    return tool.call(actions, args)
