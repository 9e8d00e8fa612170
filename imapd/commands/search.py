"""SEARCH and UID SEARCH: every RFC 3501 key, CHARSET UTF-8, MODSEQ (CONDSTORE).

Keys on flags, sizes, dates and UIDs are answered from the snapshot (the index).
Header and text keys go through the mailbox index's FTS5 trigram table, which is
filled in for messages that are not in it yet before the search runs.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from typing import cast

from imapd.backend import ContentLookup
from imapd.commands.base import SELECTED, CommandSpec, Completion, Context, args_of
from imapd.errors import BadCommand, CommandFailed
from imapd.esearch import esearch_line, saved_result
from imapd.parsed import Command, Returns, SearchArgs, SearchKey
from imapd.protocol import FLAG_TO_LETTER, Code
from imapd.responses import quoted, untagged
from imapd.sequences import SequenceSet
from imapd.session import MessageView, SearchContext, SelectedMailbox

CHARSETS = ("US-ASCII", "UTF-8")
DAY = 86400
_FTS_HEADERS = {"FROM": "hfrom", "TO": "hto", "CC": "hcc", "BCC": "hbcc", "SUBJECT": "subject"}
_CONTENT_KEYS = {"HEADER", "BODY", "TEXT"}
type Predicate = Callable[[int, MessageView], bool]  # (sequence number, message) -> matches


def _walk(key: SearchKey) -> list[SearchKey]:
    keys = [key]
    for arg in key.args:
        if isinstance(arg, SearchKey):
            keys.extend(_walk(arg))
    return keys


def _day(ymd: object) -> int:
    if not isinstance(ymd, tuple):
        raise TypeError("a search date is a (year, month, day) tuple")
    return calendar.timegm((int(ymd[0]), int(ymd[1]), int(ymd[2]), 0, 0, 0))


def _date_matches(when: float | None, comparison: str, start: int) -> bool:
    if when is None:
        return False
    if comparison == "BEFORE":
        return when < start
    if comparison == "ON":
        return start <= when < start + DAY
    return when >= start


def _header_matches(headers: str, field: str, text: str) -> bool:
    wanted = field.lower()
    needle = text.lower()
    for line in headers.split("\n"):
        name, sep, value = line.partition(":")
        if sep and name.strip().lower() == wanted and needle in value.lower():
            return True
    return False


class Searcher:
    """Evaluates one search over a snapshot, with the index's answers fetched beforehand."""

    def __init__(self, box: SelectedMailbox) -> None:
        self.box = box
        self.text_hits: dict[SearchKey, set[int]] = {}
        self.headers: dict[int, str] = {}
        self.sent: dict[int, float | None] = {}
        self.largest = box.messages[-1].uid if box.messages else 0

    async def prepare(self, ctx: Context, criteria: SearchKey) -> None:
        """Ask the index for every text, header and sent-date answer the search needs."""
        keys = _walk(criteria)
        needs_content = any(
            k.op in _CONTENT_KEYS or (k.op == "DATE" and k.args[0] == "SENT") for k in keys
        )
        if not needs_content:
            return
        lookups: list[ContentLookup] = []
        wanted: list[tuple[SearchKey, list[int]]] = []  # key -> positions of its lookups
        for key in keys:
            if key.op == "HEADER":
                field, text = str(key.args[0]), str(key.args[1])
                if field in _FTS_HEADERS and text:
                    wanted.append((key, [len(lookups)]))
                    lookups.append(("text", _FTS_HEADERS[field], text))
                elif ("headers", "", "") not in lookups:
                    lookups.append(("headers", "", ""))
            elif key.op == "BODY":
                wanted.append((key, [len(lookups)]))
                lookups.append(("text", "body", str(key.args[0])))
            elif key.op == "TEXT":
                text = str(key.args[0])
                wanted.append((key, [len(lookups), len(lookups) + 1]))
                lookups += [("text", "body", text), ("text", "headers", text)]
            elif key.op == "DATE" and key.args[0] == "SENT" and ("sent", "", "") not in lookups:
                lookups.append(("sent", "", ""))
        pairs = [(m.uid, m.key) for m in self.box.messages if not m.expunged]
        # one thread hop: index what is missing, then every lookup
        found = await ctx.user_mail().search_content(self.box.name, pairs, lookups)
        for key, positions in wanted:
            hits: set[int] = set()
            for at in positions:
                answer = found[at]
                if isinstance(answer, set):
                    hits |= answer
            self.text_hits[key] = hits
        for lookup, answer in zip(lookups, found, strict=True):
            if lookup[0] == "headers":
                self.headers = cast(dict[int, str], answer)
            elif lookup[0] == "sent":
                self.sent = cast(dict[int, float | None], answer)

    def candidates(self, key: SearchKey) -> set[int] | None:
        """UIDs that can match at all (from the text index), or None for any message."""
        if key.op in ("BODY", "TEXT") or (key.op == "HEADER" and key in self.text_hits):
            return self.text_hits.get(key, set())
        if key.op == "AND":
            found: set[int] | None = None
            for child in key.args:
                if isinstance(child, SearchKey):
                    narrowed = self.candidates(child)
                    if narrowed is not None:
                        found = narrowed if found is None else found & narrowed
            return found
        return None

    def compile(self, key: SearchKey) -> Predicate:
        """``matches`` for one key as a function: the usual keys decided without dispatch."""
        op, args = key.op, key.args
        if op in ("AND", "OR", "NOT"):
            parts = [self.compile(k) for k in args if isinstance(k, SearchKey)]
            if op == "NOT":
                return lambda seq, m: not parts[0](seq, m)
            if op == "OR":
                return lambda seq, m: parts[0](seq, m) or parts[1](seq, m)
            return lambda seq, m: all(part(seq, m) for part in parts)
        letter = FLAG_TO_LETTER.get(str(args[0]).upper()) if op == "FLAG" else None
        if letter is not None:
            wanted = bool(args[1])
            return lambda seq, m: (letter in m.flags) is wanted
        if op in ("BODY", "TEXT") or (op == "HEADER" and key in self.text_hits):
            hits = self.text_hits.get(key, set())
            return lambda seq, m: m.uid in hits
        return lambda seq, m: self.matches(key, seq, m)

    def matches(self, key: SearchKey, seq: int, message: MessageView) -> bool:
        """True when the message satisfies the key."""
        op, args = key.op, key.args
        if op == "AND":
            return all(self.matches(k, seq, message) for k in args if isinstance(k, SearchKey))
        if op == "OR":
            first, second = args
            return self.matches(first, seq, message) or self.matches(second, seq, message)  # type: ignore[arg-type]
        if op == "NOT":
            return not self.matches(args[0], seq, message)  # type: ignore[arg-type]
        if op == "ALL":
            return True
        if op == "FLAG":
            name, wanted = str(args[0]), bool(args[1])
            letter = FLAG_TO_LETTER.get(name.upper())
            if letter is not None:
                present = letter in message.flags
            else:
                present = name.lower() in {k.lower() for k in message.keyword_list}
            return present == wanted
        if op == "RECENT":
            return message.uid in self.box.recent
        if op == "NEW":
            return message.uid in self.box.recent and "S" not in message.flags
        if op == "OLD":
            return message.uid not in self.box.recent
        if op == "LARGER":
            return message.size > int(args[0])  # type: ignore[call-overload]
        if op == "SMALLER":
            return message.size < int(args[0])  # type: ignore[call-overload]
        if op in ("SEQ", "UID"):
            sequence: SequenceSet = args[0]  # type: ignore[assignment]
            if sequence.saved:  # ``$`` (RFC 5182)
                return message.uid in self.box.saved
            if op == "SEQ":
                return _in_set(sequence, seq, len(self.box.messages))
            return _in_set(sequence, message.uid, self.largest)
        if op == "MODSEQ":
            return message.modseq >= int(args[0])  # type: ignore[call-overload]
        if op == "DATE":
            which, comparison, ymd = args
            if which == "INTERNAL":  # the date in the INTERNALDATE's own zone
                when: float | None = message.internaldate + (message.zone or 0) * 60
            else:
                when = self.sent.get(message.uid)
            return _date_matches(when, str(comparison), _day(ymd))
        if op == "HEADER":
            if key in self.text_hits:
                return message.uid in self.text_hits[key]
            return _header_matches(self.headers.get(message.uid, ""), str(args[0]), str(args[1]))
        if op in ("BODY", "TEXT"):
            return message.uid in self.text_hits.get(key, set())
        raise BadCommand(f"unsupported search key {op}")


def _in_set(sequence: SequenceSet, number: int, largest: int) -> bool:
    for first, last in sequence.ranges:
        low = largest if first is None else first
        high = largest if last is None else last
        if min(low, high) <= number <= max(low, high):
            return True
    return False


def check_charset(charset: str | None) -> None:
    """Refuse a charset other than US-ASCII and UTF-8 with NO [BADCHARSET]."""
    if charset is not None and charset not in CHARSETS:
        raise CommandFailed("Unsupported charset", Code.BADCHARSET, "(" + " ".join(CHARSETS) + ")")


async def matching(
    ctx: Context, box: SelectedMailbox, criteria: SearchKey
) -> list[tuple[int, MessageView]]:
    """(sequence number, message) of every message in the snapshot that matches."""
    searcher = Searcher(box)
    await searcher.prepare(ctx, criteria)
    allowed = searcher.candidates(criteria)
    test = searcher.compile(criteria)
    return [
        (seq, message)
        for seq, message in enumerate(box.messages, start=1)
        if (allowed is None or message.uid in allowed)
        and not message.expunged
        and test(seq, message)
    ]


def _result_modseq(found: list[tuple[int, MessageView]], returns: Returns | None) -> int | None:
    """RFC 7162 3.1.5: a lone MIN or MAX names its message's MODSEQ, else the highest."""
    if not found:
        return None
    options = set(returns.options) - {"SAVE"} if returns is not None else set()
    if options == {"MIN"}:
        return found[0][1].modseq
    if options == {"MAX"}:
        return found[-1][1].modseq
    return max(m.modseq for _, m in found)


def answer(
    ctx: Context,
    command: Command,
    returns: Returns,
    found: list[tuple[int, MessageView]],
    sorted_result: bool = False,
    modseq: int | None = None,
) -> bytes | None:
    """Save the result for ``$`` if asked, and the ESEARCH line (None: nothing to send)."""
    if "SAVE" in returns.options:
        uids = [m.uid for _, m in found]
        ctx.selected().saved = set(saved_result(uids, returns))
    numbers = [m.uid if command.uid else seq for seq, m in found]
    return esearch_line(command.tag, command.uid, numbers, returns, sorted_result, modseq)


MAX_CONTEXTS = 16  # live searches (CONTEXT=SEARCH) per session


def keep(
    box: SelectedMailbox,
    tag: str,
    uid: bool,
    criteria: SearchKey,
    uids: set[int],
    sort: tuple[tuple[str, bool], ...] | None = None,
    ordered: list[int] | None = None,
) -> None:
    """Start (or replace) the live search (or sort, with its criteria and the UIDs in
    order) of ``tag``; NO [NOUPDATE] when there are too many."""
    if tag not in box.contexts and len(box.contexts) >= MAX_CONTEXTS:
        raise CommandFailed("Too many live searches", Code.NOUPDATE, quoted(tag).decode())
    box.contexts[tag] = SearchContext(tag, uid, criteria, set(uids), sort, list(ordered or []))


def forget_saved(ctx: Context, returns: Returns | None) -> None:
    """Empty ``$`` before a search that saves: a failed one leaves it empty (RFC 5182)."""
    if returns is not None and "SAVE" in returns.options:
        ctx.selected().saved = set()


async def search(ctx: Context, command: Command) -> Completion:
    """SEARCH / UID SEARCH [RETURN (...)] [CHARSET name] keys."""
    args = args_of(command, SearchArgs)
    if args.returns is None and ctx.session.rev2:  # RFC 9051 6.4.4: always ESEARCH
        args = SearchArgs(args.charset, args.criteria, Returns(("ALL",)))
    forget_saved(ctx, args.returns)
    check_charset(args.charset)
    box = ctx.selected()
    found = await matching(ctx, box, args.criteria)
    uses_modseq = any(k.op == "MODSEQ" for k in _walk(args.criteria))
    modseq = _result_modseq(found, args.returns) if uses_modseq else None
    if uses_modseq:
        await ctx.enable_condstore()
    if args.returns is not None:
        if "UPDATE" in args.returns.options:  # CONTEXT=SEARCH (RFC 5267)
            keep(box, command.tag, command.uid, args.criteria, {m.uid for _, m in found})
        line = answer(ctx, command, args.returns, found, modseq=modseq)
        if line is not None:
            await ctx.out.send(line)
        return Completion(f"{command.key} completed")
    parts = ["SEARCH", *(str(m.uid if command.uid else seq) for seq, m in found)]
    if modseq is not None:
        parts.append(f"(MODSEQ {modseq})")
    await ctx.out.send(untagged(*parts))
    return Completion(f"{command.key} completed")


COMMANDS: dict[str, CommandSpec] = {
    "SEARCH": CommandSpec(search, SELECTED),
    "UID SEARCH": CommandSpec(search, SELECTED),
}
