"""STORE and UID STORE: +FLAGS, -FLAGS and FLAGS (.SILENT), with CONDSTORE's UNCHANGEDSINCE."""

from __future__ import annotations

from imapd.backend import FlagUpdate, MessageRef
from imapd.commands.base import SELECTED, CommandSpec, Completion, Context, args_of
from imapd.commands.mailbox import flags_announcement, split_flags
from imapd.errors import BadCommand, CommandFailed
from imapd.parsed import Command, StoreArgs
from imapd.protocol import Code, flags_from_letters
from imapd.responses import Atom, Value, fetch_line
from imapd.sequences import compress
from mailrs.store.flags import merge_keywords, merge_letters


def _combine(
    mode: str, current: str, keywords: str, letters: str, new_keywords: str
) -> tuple[str, str]:
    return merge_letters(mode, current, letters), merge_keywords(mode, keywords, new_keywords)


async def store(ctx: Context, command: Command) -> Completion:
    """STORE sequence-set [(UNCHANGEDSINCE n)] [+|-]FLAGS[.SILENT] flags."""
    args = args_of(command, StoreArgs)
    box = ctx.selected()
    if box.readonly:
        raise CommandFailed("Mailbox is read-only", Code.READ_ONLY)
    try:
        numbers = box.select(args.sequence, command.uid)
    except ValueError as exc:
        raise BadCommand(f"invalid sequence set: {exc}") from None
    if args.unchangedsince is not None:
        await ctx.enable_condstore()
    letters, keywords = split_flags(args.flags)
    changes: list[FlagUpdate] = []
    modified: list[int] = []
    unchanged: list[int] = []
    for seq in numbers:
        view = box.message(seq)
        if view.expunged:
            continue
        if args.unchangedsince is not None and view.modseq > args.unchangedsince:
            modified.append(view.uid if command.uid else seq)
            continue
        new_letters, new_keywords = _combine(
            args.mode, view.flags, view.keywords, letters, keywords
        )
        if new_letters == view.flags and new_keywords == view.keywords:
            unchanged.append(seq)
            continue
        ref = MessageRef(view.uid, view.key, view.flags, view.keywords)
        changes.append(FlagUpdate(ref, args.mode, letters, keywords))
    results = await ctx.user_mail().store_flags(box.name, changes) if changes else []
    touched = set()
    for stored in results:
        position = box.seq_of_uid(stored.uid)
        if position is None:
            continue
        view = box.message(position)
        view.flags, view.keywords = stored.letters, stored.keywords
        if stored.modseq is not None:
            view.modseq = stored.modseq
            box.highestmodseq = max(box.highestmodseq, stored.modseq)
        touched.add(position)
    # What is shown may carry keywords another session just added (the stored result
    # merges them in), whatever the mode: announce every one before the FETCH lines.
    shown = [k for seq in touched | set(unchanged) for k in box.message(seq).keyword_list]
    lines = [flags_announcement(box, shown)] if shown else []
    for seq in sorted(touched | set(unchanged)):
        if args.silent and not (box.condstore and seq in touched):
            continue
        view = box.message(seq)
        items: list[tuple[str, Value]] = []
        if command.uid:
            items.append(("UID", view.uid))
        if not args.silent:
            names = flags_from_letters(view.flags, view.uid in box.recent, view.keywords)
            items.append(("FLAGS", [Atom(f) for f in names]))
        if box.condstore:
            items.append(("MODSEQ", [view.modseq]))
        lines.append(fetch_line(seq, items))
    if lines:
        await ctx.out.send(b"".join(lines))
    if modified:
        return Completion("Some messages were modified", Code.MODIFIED, compress(modified))
    return Completion(f"{command.key} completed")


COMMANDS: dict[str, CommandSpec] = {
    "STORE": CommandSpec(store, SELECTED),
    "UID STORE": CommandSpec(store, SELECTED),
}
