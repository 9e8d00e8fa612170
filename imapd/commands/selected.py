"""Commands of the selected state that change the mailbox as a whole: CHECK, CLOSE,
UNSELECT, EXPUNGE (and UID EXPUNGE), COPY and MOVE (and their UID forms)."""

from __future__ import annotations

from imapd.backend import MessageRef
from imapd.commands.base import SELECTED, CommandSpec, Completion, Context, args_of
from imapd.commands.mailbox import report_changes, updates_bytes
from imapd.errors import BadCommand, CommandFailed
from imapd.parsed import Command, CopyArgs, SequenceArgs
from imapd.protocol import Code, Status
from imapd.responses import status_line
from imapd.sequences import compress
from imapd.session import SelectedMailbox

DELETED = "T"


async def check(ctx: Context, command: Command) -> Completion:
    """CHECK: a checkpoint; everything is on disk already, so report changes."""
    await report_changes(ctx)
    return Completion("CHECK completed")


async def _expunge(ctx: Context, box: SelectedMailbox, uids: set[int] | None) -> list[int]:
    refs = [
        MessageRef(m.uid, m.key, m.flags)
        for m in box.messages
        if DELETED in m.flags and not m.expunged and (uids is None or m.uid in uids)
    ]
    if not refs:
        return []
    return await ctx.user_mail().expunge(box.name, refs)


async def expunge(ctx: Context, command: Command) -> Completion:
    """EXPUNGE / UID EXPUNGE uid-set: remove the \\Deleted messages."""
    box = ctx.selected()
    if box.readonly:
        raise CommandFailed("Mailbox is read-only", Code.READ_ONLY)
    uids = None
    if command.uid:
        sequence = args_of(command, SequenceArgs).sequence
        uids = {box.messages[i - 1].uid for i in box.select(sequence, uid=True)}
    removed = await _expunge(ctx, box, uids)
    updates = box.remove_uids(removed)
    if updates:
        await ctx.out.send(updates_bytes(box, updates))
    if not box.condstore:
        return Completion(f"{command.key} completed")
    await report_changes(ctx)  # RFC 7162 3.1.8: the tagged OK names the HIGHESTMODSEQ
    return Completion(f"{command.key} completed", Code.HIGHESTMODSEQ, str(box.highestmodseq))


async def close(ctx: Context, command: Command) -> Completion:
    """CLOSE: expunge silently (unless read-only) and leave the selected state."""
    box = ctx.selected()
    if not box.readonly:
        await _expunge(ctx, box, None)
    ctx.session.deselect()
    return Completion("CLOSE completed")


async def unselect(ctx: Context, command: Command) -> Completion:
    """UNSELECT: leave the selected state without expunging."""
    ctx.session.deselect()
    return Completion("UNSELECT completed")


async def _check_quota(ctx: Context, added: int) -> None:
    """NO [OVERQUOTA] when ``added`` bytes do not fit (a MOVE adds none: it only fails
    when the account is already over its quota, e.g. after the quota was lowered)."""
    if not await ctx.backend.fits(ctx.user_mail(), added):
        raise CommandFailed("Quota exceeded", Code.OVERQUOTA)


async def copy(ctx: Context, command: Command) -> Completion:
    """COPY / MOVE (and UID forms) sequence-set mailbox, with COPYUID."""
    args = args_of(command, CopyArgs)
    box = ctx.selected()
    move = command.name == "MOVE"
    if move and box.readonly:
        raise CommandFailed("Mailbox is read-only", Code.READ_ONLY)
    try:
        numbers = box.select(args.sequence, command.uid)
    except ValueError as exc:
        raise BadCommand(f"invalid sequence set: {exc}") from None
    destination = ctx.mailbox_name(args.mailbox)
    mail = ctx.user_mail()
    if not await mail.exists(destination):
        raise CommandFailed("No such mailbox", Code.TRYCREATE)
    refs = []
    added = 0
    for seq in numbers:
        view = box.message(seq)
        if view.expunged:
            continue
        refs.append(MessageRef(view.uid, view.key, view.flags, view.keywords, view.zone))
        added += view.size
    if refs:
        await _check_quota(ctx, 0 if move else added)
    if not refs:
        if numbers and not command.uid:
            raise CommandFailed("The messages no longer exist", Code.EXPUNGEISSUED)
        return Completion(f"{command.key} completed (nothing to do)")
    uidvalidity, pairs = await mail.copy(box.name, refs, destination, move=move)
    code_data = ""
    if pairs:
        code_data = (
            f"{uidvalidity} {compress([p[0] for p in pairs])} {compress([p[1] for p in pairs])}"
        )
    if not move:
        if not pairs:
            raise CommandFailed("The messages no longer exist", Code.EXPUNGEISSUED)
        return Completion(f"{command.key} completed", Code.COPYUID, code_data)
    lines = []
    if pairs:
        lines.append(status_line(None, Status.OK, "Moved", Code.COPYUID, code_data))
    updates = box.remove_uids(p[0] for p in pairs)
    lines.append(updates_bytes(box, updates))
    await ctx.out.send(b"".join(lines))
    return Completion(f"{command.key} completed")


COMMANDS: dict[str, CommandSpec] = {
    "CHECK": CommandSpec(check, SELECTED),
    "CLOSE": CommandSpec(close, SELECTED),
    "UNSELECT": CommandSpec(unselect, SELECTED),
    "EXPUNGE": CommandSpec(expunge, SELECTED),
    "UID EXPUNGE": CommandSpec(expunge, SELECTED),
    "COPY": CommandSpec(copy, SELECTED),
    "UID COPY": CommandSpec(copy, SELECTED),
    "MOVE": CommandSpec(copy, SELECTED),
    "UID MOVE": CommandSpec(copy, SELECTED),
}
