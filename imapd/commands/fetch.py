"""FETCH and UID FETCH: flags, UID, sizes, dates, ENVELOPE, BODYSTRUCTURE and BODY[section].

Items that the index holds (FLAGS, UID, RFC822.SIZE, INTERNALDATE, MODSEQ) never open a
message file. A non-PEEK BODY[...] (or RFC822, RFC822.TEXT) marks the message \\Seen
(unless the mailbox was opened with EXAMINE) before its response is built, and that
response then carries FLAGS too.
"""

from __future__ import annotations

from imapd.backend import FlagUpdate, MessageRef
from imapd.binary import decoded_part, literal8
from imapd.commands.base import SELECTED, CommandSpec, Completion, Context, args_of
from imapd.commands.resync import vanished_uids
from imapd.errors import BadCommand, CommandFailed
from imapd.fetch_cache import CacheKey, Derived, MessageSource
from imapd.message_parts import partial, select_fields
from imapd.parsed import Command, FetchArgs, FetchItem, Section
from imapd.protocol import SEEN_LETTER, Code, flags_from_letters
from imapd.responses import Atom, Value, encode, internaldate, untagged
from imapd.sequences import compress
from imapd.session import MessageView, SelectedMailbox
from mailrs.store.mime import Part, find_part, parse

FLAGS_ITEM = FetchItem("FLAGS")
UID_ITEM = FetchItem("UID")
MODSEQ_ITEM = FetchItem("MODSEQ")
READ_BATCH = 100
SEND_BYTES = 256 * 1024
_BODY_ITEMS = {"ENVELOPE", "BODYSTRUCTURE", "BODY", "RFC822", "RFC822.HEADER", "RFC822.TEXT"}
_INDEX_ITEMS = {"FLAGS", "UID", "RFC822.SIZE", "INTERNALDATE", "MODSEQ"}
_CACHED_ITEMS = {"ENVELOPE", "BODYSTRUCTURE", "BODY", "RFC822.HEADER"}
_SETS_SEEN = {"RFC822", "RFC822.TEXT"}


def section_bytes(root: Part | None, raw: bytes, section: Section) -> bytes:
    """The bytes of BODY[section] of a message (``root`` may be None for BODY[])."""
    if not section.part and not section.specifier:
        return raw
    if root is None:
        root = parse(raw)
    if not section.part:
        target: Part | None = root
        if section.specifier == "":
            return raw
    else:
        found = find_part(root, section.part)
        if found is None:
            return b""
        if section.specifier == "":
            return found.body
        if section.specifier == "MIME":
            return found.header
        target = found.message
    if target is None:
        return b""
    if section.specifier == "HEADER":
        return target.header
    if section.specifier == "TEXT":
        return target.body
    return select_fields(target.header, section.fields, section.specifier.endswith(".NOT"))


def flag_names(message: MessageView, box: SelectedMailbox) -> list[Value]:
    """The FLAGS value of a message."""
    names = flags_from_letters(message.flags, message.uid in box.recent, message.keywords)
    return [Atom(f) for f in names]


def _from_header_or_cache(item: FetchItem) -> bool:
    """True when the item needs only the index, the header block or a cached value."""
    if item.section is None:
        return item.name in _INDEX_ITEMS or item.name in _CACHED_ITEMS
    section = item.section
    return item.name == "BODY" and not section.part and section.specifier.startswith("HEADER")


def covers(entry: Derived | None, items: list[FetchItem], cached_only: bool) -> bool:
    """True when a cached entry holds every value these items need beyond the index
    (``cached_only``: the items need nothing but cached values and the header block)."""
    if entry is None:
        return False
    if entry.raw is not None:
        return True  # the whole message: anything can be answered
    if not cached_only:
        return False
    for item in items:
        if item.section is not None or item.name == "RFC822.HEADER":
            value = entry.header
        elif item.name in _INDEX_ITEMS:
            continue
        elif item.name == "ENVELOPE":
            value = entry.envelope
        elif item.name == "BODYSTRUCTURE":
            value = entry.bodystructure
        else:
            value = entry.body
        if value is None:
            return False
    return True


def item_value(
    item: FetchItem, message: MessageView, box: SelectedMailbox, src: MessageSource | None
) -> Value | bytes:
    """The value of one data item (bytes: already encoded) for one message.

    ``src`` gives the message's bytes and what is cached of them (None: index items only).
    """
    if item.name == "FLAGS":
        return flag_names(message, box)
    if item.name == "UID":
        return message.uid
    if item.name == "RFC822.SIZE":
        return message.size
    if item.name == "INTERNALDATE":
        return internaldate(message.internaldate, message.zone)
    if item.name == "MODSEQ":
        return [message.modseq]
    if src is None:
        raise BadCommand(f"FETCH data item {item.name} needs the message")
    if item.section is not None and item.name == "BODY":
        section = item.section
        if not section.part and section.specifier.startswith("HEADER"):
            header = src.header()
            part = (
                header
                if section.specifier == "HEADER"
                else select_fields(header, section.fields, section.specifier.endswith(".NOT"))
            )
        else:
            part = section_bytes(_root_if_needed(src, section), _raw(src), section)
        return part if item.partial is None else partial(part, *item.partial)
    if item.name == "ENVELOPE":
        return src.envelope()
    if item.name == "BODYSTRUCTURE":
        return src.structure(extended=True)
    if item.name == "BODY":
        return src.structure(extended=False)
    if item.name == "RFC822.HEADER":
        return src.header()
    raw = _raw(src)
    if item.name == "BINARY.SIZE" and item.section is not None:
        return len(decoded_part(_parsed(src, item.section.part), raw, item.section.part))
    if item.name == "BINARY" and item.section is not None:
        data = decoded_part(_parsed(src, item.section.part), raw, item.section.part)
        return literal8(data if item.partial is None else partial(data, *item.partial))
    if item.name == "RFC822":
        return raw
    if item.name == "RFC822.TEXT":
        return src.root().body
    raise BadCommand(f"FETCH data item {item.name} is not supported")


def _raw(src: MessageSource) -> bytes:
    if src.raw is None:
        raise ValueError("the message's bytes were not read")
    return src.raw


def _parsed(src: MessageSource, part: tuple[int, ...]) -> Part | None:
    """The MIME tree when a part number needs it (BINARY[] and BODY[] do not)."""
    return src.root() if part else None


def _root_if_needed(src: MessageSource, section: Section) -> Part | None:
    return src.root() if section.part or section.specifier else None


def _line(seq: int, values: list[tuple[str, Value | bytes]]) -> bytes:
    parts = []
    for name, value in values:
        if isinstance(value, bytes) and (
            name in ("ENVELOPE", "BODYSTRUCTURE", "BODY") or name.startswith("BINARY[")
        ):
            parts.append(name.encode("ascii") + b" " + value)
        else:
            parts.append(name.encode("ascii") + b" " + encode(value))  # type: ignore[arg-type]
    return b"* %d FETCH (" % seq + b" ".join(parts) + b")\r\n"


async def fetch(ctx: Context, command: Command) -> Completion:
    """FETCH / UID FETCH sequence-set items [(CHANGEDSINCE n)]."""
    args = args_of(command, FetchArgs)
    box = ctx.selected()
    mail = ctx.user_mail()
    try:
        numbers = box.select(args.sequence, command.uid)
    except ValueError as exc:
        raise BadCommand(f"invalid sequence set: {exc}") from None
    if args.vanished and not (command.uid and ctx.session.qresync):
        raise BadCommand("VANISHED needs UID FETCH and QRESYNC enabled")
    items = list(dict.fromkeys(args.items))
    if args.vanished and args.changedsince is not None:  # RFC 7162 3.2.6
        gone = await vanished_uids(ctx, box, args.changedsince, args.sequence)
        if gone:
            await ctx.out.send(untagged("VANISHED", "(EARLIER)", compress(gone)))
    if command.uid and UID_ITEM not in items:
        items.insert(0, UID_ITEM)
    if args.changedsince is not None:
        await ctx.enable_condstore()
        numbers = [n for n in numbers if box.message(n).modseq > args.changedsince]
    if (
        box.condstore
        and MODSEQ_ITEM not in items
        and (args.changedsince is not None or FLAGS_ITEM in items)
    ):
        items.append(MODSEQ_ITEM)
    if MODSEQ_ITEM in items:
        await ctx.enable_condstore()
    needs_body = any(i.section is not None or i.name in _BODY_ITEMS for i in items)
    sets_seen = not box.readonly and any(
        (i.section is not None and not i.peek) or i.name in _SETS_SEEN for i in items
    )
    newly_seen: set[int] = set()
    if sets_seen:
        newly_seen = await _mark_seen(ctx, box, numbers)
    if not needs_body and not sets_seen:
        await _send_from_index(ctx, box, numbers, [item.name for item in items])
        return Completion(f"{command.key} completed")
    cache = mail.fetch_cache
    # every item from the index, the header block or the cache: no file opened when cached
    cached_only = all(_from_header_or_cache(i) for i in items)
    missing = 0
    out: list[bytes] = []
    size = 0
    for start in range(0, len(numbers), READ_BATCH if needs_body else len(numbers) or 1):
        chunk = numbers[start : start + (READ_BATCH if needs_body else len(numbers))]
        views = [box.message(seq) for seq in chunk]
        keys: list[CacheKey] = [(mail.address, box.name, v.key) for v in views]
        entries: list[Derived | None] = [None] * len(views)
        bodies: list[bytes | None] = [None] * len(views)
        wanted: set[int] = set()
        if needs_body:
            entries = [cache.get(k, v.size) for k, v in zip(keys, views, strict=True)]
            wanted = {n for n, entry in enumerate(entries) if not covers(entry, items, cached_only)}
            if wanted:
                order = sorted(wanted)
                read = await mail.read_many(box.name, [views[n].key for n in order])
                for n, raw in zip(order, read, strict=True):
                    bodies[n] = raw
        for n, (seq, message) in enumerate(zip(chunk, views, strict=True)):
            entry, raw = entries[n], bodies[n]
            src = None
            if needs_body:
                if message.expunged or (n in wanted and raw is None):
                    missing += 1  # expunged by another session; reported at the next NOOP
                    continue
                src = MessageSource(cache, keys[n], message.size, raw, entry)
            extra = []  # the implicit \Seen is announced, with MODSEQ under CONDSTORE
            if seq in newly_seen:
                extra = [i for i in (FLAGS_ITEM, MODSEQ_ITEM) if i not in items]
                extra = extra if box.condstore else [i for i in extra if i is FLAGS_ITEM]
            values = [
                (item.response_name, item_value(item, message, box, src)) for item in items + extra
            ]
            line = _line(seq, values)
            out.append(line)
            size += len(line)
            if size >= SEND_BYTES:
                await ctx.out.send(b"".join(out))
                out, size = [], 0
    if out:
        await ctx.out.send(b"".join(out))
    if missing:
        raise CommandFailed("Some messages no longer exist", Code.EXPUNGEISSUED)
    return Completion(f"{command.key} completed")


async def _send_from_index(
    ctx: Context, box: SelectedMailbox, numbers: list[int], names: list[str]
) -> None:
    """FETCH of index-only items (FLAGS, UID, sizes, dates, MODSEQ): no file is opened."""
    flag_text: dict[tuple[str, str, bool], str] = {}
    recent = box.recent

    def flags_of(message: MessageView) -> str:
        key = (message.flags, message.keywords, message.uid in recent)
        text = flag_text.get(key)
        if text is None:
            text = flag_text[key] = " ".join(flags_from_letters(key[0], key[2], key[1]))
        return text

    if names in (["FLAGS", "UID"], ["UID", "FLAGS"]):  # what every client syncs with
        messages = box.messages
        # Sequence numbers are distinct and in range: as many as messages means all of them.
        chosen = messages if len(numbers) == len(messages) else [messages[n - 1] for n in numbers]
        if names[0] == "UID":
            rendered = [
                f"* {seq} FETCH (UID {m.uid} FLAGS ({flags_of(m)}))\r\n"
                for seq, m in zip(numbers, chosen, strict=True)
            ]
        else:
            rendered = [
                f"* {seq} FETCH (FLAGS ({flags_of(m)}) UID {m.uid})\r\n"
                for seq, m in zip(numbers, chosen, strict=True)
            ]
        for start in range(0, len(rendered), 4096):
            await ctx.out.send("".join(rendered[start : start + 4096]).encode("utf-8"))
        return
    lines: list[str] = []
    for seq in numbers:
        message = box.messages[seq - 1]
        parts = []
        for name in names:
            if name == "UID":
                parts.append(f"UID {message.uid}")
            elif name == "FLAGS":
                key = (message.flags, message.keywords, message.uid in recent)
                text = flag_text.get(key)
                if text is None:
                    text = "FLAGS (" + " ".join(flags_from_letters(key[0], key[2], key[1])) + ")"
                    flag_text[key] = text
                parts.append(text)
            elif name == "RFC822.SIZE":
                parts.append(f"RFC822.SIZE {message.size}")
            elif name == "INTERNALDATE":
                date = internaldate(message.internaldate, message.zone)
                parts.append(f'INTERNALDATE "{date}"')
            elif name == "MODSEQ":
                parts.append(f"MODSEQ ({message.modseq})")
        lines.append(f"* {seq} FETCH ({' '.join(parts)})\r\n")
        if len(lines) >= 4096:
            await ctx.out.send("".join(lines).encode("utf-8"))
            lines = []
    if lines:
        await ctx.out.send("".join(lines).encode("utf-8"))


async def _mark_seen(ctx: Context, box: SelectedMailbox, numbers: list[int]) -> set[int]:
    """Set \\Seen on the messages about to be read; the sequence numbers it changed."""
    changes: list[FlagUpdate] = []
    for seq in numbers:
        view = box.message(seq)
        if SEEN_LETTER not in view.flags and not view.expunged:
            ref = MessageRef(view.uid, view.key, view.flags, view.keywords)
            changes.append(FlagUpdate(ref, "+", SEEN_LETTER))
    if not changes:
        return set()
    changed: set[int] = set()
    results = await ctx.user_mail().store_flags(box.name, changes)
    for stored in results:
        found = box.seq_of_uid(stored.uid)
        if found is not None:
            view = box.message(found)
            view.flags = stored.letters
            changed.add(found)
            if stored.modseq is not None:
                view.modseq = stored.modseq
                box.highestmodseq = max(box.highestmodseq, stored.modseq)
    return changed


COMMANDS: dict[str, CommandSpec] = {
    "FETCH": CommandSpec(fetch, SELECTED),
    "UID FETCH": CommandSpec(fetch, SELECTED),
}
