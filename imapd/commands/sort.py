"""SORT and THREAD (RFC 5256), with their UID forms.

The messages are chosen by the search machinery of ``imapd.commands.search``; their
Subject, addresses, Date and message IDs come from the headers the mailbox index keeps
for searching. Base subjects and threads are the core's (``mailrs.store.threading``),
so the web's conversation view can group messages the same way.
"""

from __future__ import annotations

import contextlib
import email.header
import email.utils
import unicodedata
from dataclasses import dataclass
from email import _header_value_parser as rfc5322
from functools import cmp_to_key
from typing import Any

from imapd.commands.base import SELECTED, CommandSpec, Completion, Context, args_of
from imapd.commands.search import answer, check_charset, forget_saved, keep, matching
from imapd.parsed import Command, SortArgs, ThreadArgs
from imapd.responses import untagged
from imapd.session import MessageView
from mailrs.store.threading import (
    ThreadMessage,
    ThreadNode,
    subject_key,
    thread_orderedsubject,
    thread_references,
)


@dataclass(frozen=True)
class Headers:
    """The header values SORT and THREAD look at, from the index's header text."""

    fields: dict[str, str]

    @classmethod
    def parse(cls, text: str) -> Headers:
        """The first value of each field in ``Name: value`` lines."""
        fields: dict[str, str] = {}
        for line in text.split("\n"):
            name, sep, value = line.partition(":")
            if sep:
                fields.setdefault(name.strip().lower(), value.strip())
        return cls(fields)

    def get(self, name: str) -> str:
        """A field's value ("" when absent)."""
        return self.fields.get(name, "")

    def first_address(self, name: str) -> tuple[str, str, str]:
        """The field's first address as (display name, local part, domain); a group
        counts as its name, as its ENVELOPE group marker does (RFC 5256, RFC 5957)."""
        value = self.get(name)
        if not value:
            return "", "", ""
        try:
            parsed, _ = rfc5322.get_address_list(value)
            token: Any = parsed.addresses[0][0]
        except Exception:
            return "", "", ""
        if getattr(token, "token_type", None) == "group":
            group = str(token.display_name or "").strip()
            return group, group, ""
        display = str(getattr(token, "display_name", None) or "")
        if not display and getattr(token, "comments", None):
            display = " ".join(token.comments)  # "user@domain (Real Name)"
        local = str(getattr(token, "local_part", None) or "")
        domain = str(getattr(token, "domain", None) or "")
        return display, local, domain

    def mailbox(self, name: str) -> str:
        """The addr-mailbox (local part) of the field's first address, case-folded."""
        return self.first_address(name)[1].upper()

    def display(self, name: str) -> str:
        """RFC 5957: the first address's display name (RFC 2047 decoded), else its
        addr-spec, compared as i;unicode-casemap does (case-folded, NFKD)."""
        display, local, domain = self.first_address(name)
        if display:
            with contextlib.suppress(ValueError, LookupError, UnicodeError):
                display = str(email.header.make_header(email.header.decode_header(display)))
        address = f"{local}@{domain}" if domain else local
        return unicodedata.normalize("NFKD", (display.strip() or address).casefold())

    def sent(self, fallback: float) -> float:
        """The Date: as UTC seconds, or ``fallback`` (the arrival time) when it has none."""
        value = self.get("date")
        if value:
            try:
                return email.utils.parsedate_to_datetime(value).timestamp()
            except (TypeError, ValueError, IndexError, OverflowError):
                pass
        return fallback


async def _headers(ctx: Context, found: list[tuple[int, MessageView]]) -> dict[int, Headers]:
    mail = ctx.user_mail()
    box = ctx.selected()
    await mail.ensure_content(box.name, [(m.uid, m.key) for _, m in found])
    text = await mail.header_text(box.name)
    return {m.uid: Headers.parse(text.get(m.uid, "")) for _, m in found}


def _sort_value(key: str, message: MessageView, headers: Headers) -> float | str:
    if key == "ARRIVAL":
        return message.internaldate
    if key == "SIZE":
        return message.size
    if key == "DATE":
        return headers.sent(message.internaldate)
    if key == "SUBJECT":
        return subject_key(headers.get("subject"))
    if key in ("DISPLAYFROM", "DISPLAYTO"):
        return headers.display(key[7:].lower())
    return headers.mailbox(key.lower())  # CC, FROM, TO


def sort_order(
    criteria: tuple[tuple[str, bool], ...],
    found: list[tuple[int, MessageView]],
    headers: dict[int, Headers],
) -> list[tuple[int, MessageView]]:
    """The messages in SORT order; ties keep sequence order (RFC 5256 section 3)."""
    values: dict[str, dict[int, Any]] = {
        key: {m.uid: _sort_value(key, m, headers[m.uid]) for _, m in found} for key, _ in criteria
    }

    def compare(a: tuple[int, MessageView], b: tuple[int, MessageView]) -> int:
        for key, reverse in criteria:
            x, y = values[key][a[1].uid], values[key][b[1].uid]
            if x != y:
                return (1 if x > y else -1) * (-1 if reverse else 1)
        return a[0] - b[0]

    return sorted(found, key=cmp_to_key(compare))


async def sorted_messages(
    ctx: Context, criteria: tuple[tuple[str, bool], ...], found: list[tuple[int, MessageView]]
) -> list[tuple[int, MessageView]]:
    """The found messages in the order of the SORT criteria."""
    return sort_order(criteria, found, await _headers(ctx, found))


async def sort(ctx: Context, command: Command) -> Completion:
    """SORT / UID SORT (criteria) charset search-keys."""
    args = args_of(command, SortArgs)
    forget_saved(ctx, args.returns)
    check_charset(args.charset)
    box = ctx.selected()
    found = await matching(ctx, box, args.search)
    ordered = await sorted_messages(ctx, args.criteria, found)
    if args.returns is not None:  # ESORT (RFC 5267)
        if "UPDATE" in args.returns.options:  # CONTEXT=SORT: kept up to date
            uids = [m.uid for _, m in ordered]
            keep(box, command.tag, command.uid, args.search, set(uids), args.criteria, uids)
        line = answer(ctx, command, args.returns, ordered, sorted_result=True)
        if line is not None:
            await ctx.out.send(line)
        return Completion(f"{command.key} completed")
    numbers = [str(m.uid if command.uid else seq) for seq, m in ordered]
    await ctx.out.send(untagged("SORT", *numbers))
    return Completion(f"{command.key} completed")


def thread_text(node: ThreadNode) -> str:
    """One node and its descendants in the THREAD response syntax."""
    own = "" if node.key is None else str(node.key)
    if not node.children:
        return own
    if len(node.children) == 1:
        inner = thread_text(node.children[0])
    else:
        inner = "".join(f"({thread_text(child)})" for child in node.children)
    return f"{own} {inner}" if own else inner


async def thread(ctx: Context, command: Command) -> Completion:
    """THREAD / UID THREAD algorithm charset search-keys."""
    args = args_of(command, ThreadArgs)
    check_charset(args.charset)
    found = await matching(ctx, ctx.selected(), args.search)
    headers = await _headers(ctx, found)
    messages = []
    for seq, message in found:
        fields = headers[message.uid]
        messages.append(
            ThreadMessage(
                key=message.uid if command.uid else seq,
                subject=fields.get("subject"),
                message_id=fields.get("message-id"),
                references=fields.get("references"),
                in_reply_to=fields.get("in-reply-to"),
                date=fields.sent(message.internaldate),
                order=seq,
            )
        )
    if args.algorithm == "ORDEREDSUBJECT":
        threads = thread_orderedsubject(messages)
    else:
        threads = thread_references(messages)
    text = "".join(f"({thread_text(node)})" for node in threads)
    await ctx.out.send(untagged("THREAD", text) if text else untagged("THREAD"))
    return Completion(f"{command.key} completed")


COMMANDS: dict[str, CommandSpec] = {
    "SORT": CommandSpec(sort, SELECTED),
    "UID SORT": CommandSpec(sort, SELECTED),
    "THREAD": CommandSpec(thread, SELECTED),
    "UID THREAD": CommandSpec(thread, SELECTED),
}
