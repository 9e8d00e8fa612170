"""Parsing Sieve scripts with ``sievelib``, extended where its coverage falls short.

sievelib 1.6 parses RFC 5228 and most extensions we run (fileinto, envelope, imap4flags,
copy, body, variables, vacation, date, relational, mailbox). Missing, and registered here
through its own extension points: ``ereject`` (RFC 5429, a command class registered with
``add_commands``), ``subaddress`` (RFC 5233, ``:user``/``:detail`` address parts) and the
``i;ascii-numeric`` comparator (RFC 4790) that relational scripts commonly name.
"""

from __future__ import annotations

import threading
from typing import Any

from sievelib import commands
from sievelib.parser import Parser

# Extensions the interpreter implements (advertised by ManageSieve, accepted by ``require``).
SUPPORTED = (
    "fileinto",
    "reject",
    "ereject",
    "envelope",
    "imap4flags",
    "copy",
    "body",
    "variables",
    "vacation",
    "date",
    "relational",
    "subaddress",
    "mailbox",
    "comparator-i;ascii-numeric",
)


class SieveSyntaxError(ValueError):
    """A script that does not parse, with the parser's message."""


class ErejectCommand(commands.ActionCommand):
    """ereject (RFC 5429): refuse the message at the protocol level where possible."""

    extension = "ereject"
    args_definition = [{"name": "text", "type": ["string"], "required": True}]


def _extend() -> None:
    """Register what sievelib lacks (idempotent)."""
    commands.add_commands([ErejectCommand])
    part = commands.address_part
    part.setdefault("extension_values", {}).update({":user": "subaddress", ":detail": "subaddress"})
    values = commands.comparator["extra_arg"].setdefault("values", [])
    if '"i;ascii-numeric"' not in values:
        values.append('"i;ascii-numeric"')


_extend()
_lock = threading.Lock()  # sievelib keeps its parser state per thread; one parse at a time


def parse_script(text: str | bytes) -> list[Any]:
    """The parsed commands of a script; SieveSyntaxError when it does not parse."""
    data = text.encode() if isinstance(text, str) else text
    with _lock:
        parser = Parser()
        if not parser.parse(data):
            raise SieveSyntaxError(str(parser.error or "syntax error"))
        for command in _walk(parser.result):
            if command.name == "require":
                for ext in _strings(command.arguments["capabilities"]):
                    if ext not in SUPPORTED:
                        raise SieveSyntaxError(f'unsupported extension "{ext}"')
        return list(parser.result)


def check_script(text: str | bytes) -> str | None:
    """None when the script is valid, else the reason it is not."""
    try:
        parse_script(text)
    except SieveSyntaxError as exc:
        return str(exc)
    return None


def _walk(nodes: list[Any]) -> list[Any]:
    """Every command in a tree, depth first."""
    out: list[Any] = []
    for node in nodes:
        out.append(node)
        out += _walk(node.children)
    return out


def unquote(value: str) -> str:
    """A Sieve string argument as text (quoted or multi-line ``text:`` form)."""
    if len(value) >= 2 and value.startswith('"') and value.endswith('"'):
        inner = value[1:-1]
        out, i = [], 0
        while i < len(inner):
            if inner[i] == "\\" and i + 1 < len(inner):
                i += 1
            out.append(inner[i])
            i += 1
        return "".join(out)
    if value.startswith("text:"):
        body = value[5:].split("\n", 1)[1] if "\n" in value else ""
        body = body.removesuffix(".\r\n").removesuffix(".\n").removesuffix(".")
        lines = [line[1:] if line.startswith("..") else line for line in body.split("\n")]
        return "\n".join(lines).replace("\r", "")
    return value


def _strings(value: Any) -> list[str]:
    """A string or string list argument as a list of texts."""
    if isinstance(value, list):
        return [unquote(v) for v in value]
    return [unquote(str(value))]


strings = _strings
