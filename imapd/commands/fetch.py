"""FETCH and UID FETCH: flags, UID, size, internal date and BODY[] sections.

A non-PEEK BODY[...] marks the message \\Seen (unless the mailbox was opened with
EXAMINE) before its response is built, and that response then carries FLAGS too.
"""

from __future__ import annotations

from imapd.commands.base import SELECTED, CommandSpec, Completion, Context, args_of
from imapd.errors import BadCommand, CommandFailed
from imapd.message_parts import partial, section_bytes
from imapd.parser import Command, FetchArgs, FetchItem
from imapd.protocol import SEEN_LETTER, Code, flags_from_letters
from imapd.responses import Atom, Value, fetch_line, internaldate
from imapd.session import MessageView, SelectedMailbox
from mailrs.errors import MessageNotFound

FLAGS_ITEM = FetchItem("FLAGS")
UID_ITEM = FetchItem("UID")


def item_value(item: FetchItem, message: MessageView, box: SelectedMailbox, data: bytes) -> Value:
    """The value of one data item for one message (``data``: its bytes, if needed)."""
    if item.section is not None:
        part = section_bytes(data, item.section.specifier)
        return part if item.partial is None else partial(part, *item.partial)
    if item.name == "FLAGS":
        return [Atom(f) for f in flags_from_letters(message.flags, message.uid in box.recent)]
    if item.name == "UID":
        return message.uid
    if item.name == "RFC822.SIZE":
        return message.size
    if item.name == "INTERNALDATE":
        return internaldate(message.internaldate)
    raise BadCommand(f"FETCH data item {item.name} is not supported")


async def fetch(ctx: Context, command: Command) -> Completion:
    """FETCH / UID FETCH sequence-set items."""
    args = args_of(command, FetchArgs)
    box = ctx.selected()
    mail = ctx.user_mail()
    try:
        numbers = box.select(args.sequence, command.uid)
    except ValueError as exc:
        raise BadCommand(f"invalid sequence set: {exc}") from None
    items = list(args.items)
    if command.uid and UID_ITEM not in items:
        items.insert(0, UID_ITEM)
    needs_body = any(item.section is not None for item in items)
    sets_seen = not box.readonly and any(i.section is not None and not i.peek for i in items)
    missing = 0
    for seq in numbers:
        message = box.message(seq)
        try:
            data = await mail.read(box.name, message.key) if needs_body else b""
            extra = []
            if sets_seen and SEEN_LETTER not in message.flags:
                flags = message.flags + SEEN_LETTER
                message.flags = await mail.set_flags(box.name, message.key, flags)
                if FLAGS_ITEM not in items:
                    extra.append(FLAGS_ITEM)
        except MessageNotFound:
            missing += 1  # expunged by another session; reported at the next NOOP
            continue
        values = [
            (item.response_name, item_value(item, message, box, data)) for item in items + extra
        ]
        await ctx.out.send(fetch_line(seq, values))
    if missing:
        raise CommandFailed("Some messages no longer exist", Code.EXPUNGEISSUED)
    return Completion(f"{command.key} completed")


COMMANDS: dict[str, CommandSpec] = {
    "FETCH": CommandSpec(fetch, SELECTED),
    "UID FETCH": CommandSpec(fetch, SELECTED),
}
