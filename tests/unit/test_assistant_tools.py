"""The LLM engine's tools come from one registry over the same actions as the offline engine."""

from __future__ import annotations

import datetime as dt

from web.assistant.tools import REGISTRY, TOOLS, criteria, target


def test_every_tool_has_a_json_schema_from_the_registry() -> None:
    assert [t["function"]["name"] for t in TOOLS] == [tool.name for tool in REGISTRY]
    for tool in TOOLS:
        function = tool["function"]
        assert tool["type"] == "function" and function["description"]
        parameters = function["parameters"]
        assert parameters["type"] == "object"
        assert set(parameters["required"]) <= set(parameters["properties"])
    names = {t["function"]["name"] for t in TOOLS}
    assert {"search_messages", "count_messages", "top_senders", "digest"} <= names
    assert {"urgent_messages", "list_attachments", "forward_message", "flag_message"} <= names


def test_tool_arguments_become_the_offline_criteria() -> None:
    found = criteria(
        {
            "sender": "Acmé",
            "text": "Invoices",
            "since": "2025-12-01",
            "until": "2025-12-07",
            "unread": True,
            "attachment_type": "pdf",
        }
    )
    assert found.senders == ("acme",) and found.topics == ("invoices",)
    assert found.start == dt.date(2025, 12, 1) and found.end == dt.date(2025, 12, 8)
    assert found.unread and found.attachments and found.kinds == ("pdf",)
    assert criteria({"since": "not a date"}).start is None
    assert (target(2), target("3"), target("latest"), target("it"), target(True)) == (
        2,
        3,
        "last",
        "current",
        None,
    )
