"""Mailbox commands: LIST, SELECT and EXAMINE, and the untagged updates of a selected box."""

from __future__ import annotations

from imapd import listpattern, mutf7
from imapd.commands.base import AUTHENTICATED, CommandSpec, Completion, Context, args_of
from imapd.parser import Command, ListArgs, MailboxArgs
from imapd.protocol import SPECIAL_USE, SYSTEM_FLAGS, Code, Status, flags_from_letters
from imapd.responses import Atom, fetch_line, flag_list, list_line, status_line, untagged
from imapd.session import (
    Exists,
    Expunge,
    FlagsChanged,
    Recent,
    SelectedMailbox,
    Update,
)
from mailrs.errors import InvalidMailboxName
from mailrs.mailbox_names import DELIMITER, normalize_mailbox_name


def mailbox_name(wire: str) -> str:
    """The canonical mailbox name for a name sent by a client (modified UTF-7)."""
    try:
        decoded = mutf7.decode(wire)
    except ValueError as exc:
        raise InvalidMailboxName(str(exc)) from None
    return normalize_mailbox_name(decoded)


def mailbox_attributes(name: str, all_names: set[str]) -> list[str]:
    """LIST attributes: children, and the SPECIAL-USE role of the standard folders."""
    prefix = name + DELIMITER
    has_children = any(other.startswith(prefix) for other in all_names)
    attributes = ["\\HasChildren" if has_children else "\\HasNoChildren"]
    if name in SPECIAL_USE:
        attributes.append(SPECIAL_USE[name])
    return attributes


def _implied_parents(names: set[str]) -> set[str]:
    """Levels above existing mailboxes that are not mailboxes themselves."""
    parents = set()
    for name in names:
        parts = name.split(DELIMITER)
        for depth in range(1, len(parts)):
            parent = DELIMITER.join(parts[:depth])
            if parent not in names:
                parents.add(parent)
    return parents


async def list_mailboxes(ctx: Context, command: Command) -> Completion:
    """LIST reference pattern."""
    args = args_of(command, ListArgs)
    if not args.pattern:
        await ctx.out.send(list_line(["\\Noselect"], DELIMITER, ""))
        return Completion("LIST completed")
    pattern = listpattern.combine(args.reference, args.pattern)
    names = set(await ctx.user_mail().list_mailboxes())
    lines = []
    for name in sorted(names | _implied_parents(names), key=lambda n: (n != "INBOX", n)):
        wire = mutf7.encode(name)
        if not listpattern.matches(pattern, wire):
            continue
        if name in names:
            attributes = mailbox_attributes(name, names)
        else:
            attributes = ["\\Noselect", "\\HasChildren"]
        lines.append(list_line(attributes, DELIMITER, wire))
    await ctx.out.send(b"".join(lines))
    return Completion("LIST completed")


async def _open(ctx: Context, command: Command, readonly: bool) -> Completion:
    args = args_of(command, MailboxArgs)
    ctx.session.deselect()  # a failed SELECT leaves no mailbox selected
    name = mailbox_name(args.mailbox)
    result = await ctx.user_mail().sync(name, claim_recent=not readonly)
    box = SelectedMailbox.open(result.state, readonly, result.recent)
    permanent = [] if readonly else list(SYSTEM_FLAGS)
    permanent_text = "Read-only mailbox" if readonly else "Flags permitted"
    lines = [
        untagged("FLAGS", flag_list(SYSTEM_FLAGS)),
        untagged(str(box.exists), "EXISTS"),
        untagged(str(len(box.recent)), "RECENT"),
    ]
    unseen = box.first_unseen()
    if unseen is not None:
        lines.append(
            status_line(
                None, Status.OK, f"Message {unseen} is first unseen", Code.UNSEEN, str(unseen)
            )
        )
    lines += [
        status_line(None, Status.OK, "UIDs valid", Code.UIDVALIDITY, str(box.uidvalidity)),
        status_line(None, Status.OK, "Predicted next UID", Code.UIDNEXT, str(box.uidnext)),
        status_line(None, Status.OK, permanent_text, Code.PERMANENTFLAGS, flag_list(permanent)),
    ]
    await ctx.out.send(b"".join(lines))
    ctx.session.select(box)
    if readonly:
        return Completion("EXAMINE completed", Code.READ_ONLY)
    return Completion("SELECT completed", Code.READ_WRITE)


async def select(ctx: Context, command: Command) -> Completion:
    """SELECT mailbox: open it read-write."""
    return await _open(ctx, command, readonly=False)


async def examine(ctx: Context, command: Command) -> Completion:
    """EXAMINE mailbox: open it read-only."""
    return await _open(ctx, command, readonly=True)


def update_line(update: Update) -> bytes:
    """The untagged response that announces one change."""
    match update:
        case Expunge(seq=seq):
            return untagged(str(seq), "EXPUNGE")
        case Exists(count=count):
            return untagged(str(count), "EXISTS")
        case Recent(count=count):
            return untagged(str(count), "RECENT")
        case FlagsChanged(seq=seq, uid=uid, flags=flags, recent=recent):
            names = [Atom(flag) for flag in flags_from_letters(flags, recent)]
            return fetch_line(seq, [("UID", uid), ("FLAGS", names)])
    raise TypeError(f"unknown update {update!r}")


async def report_changes(ctx: Context) -> None:
    """Re-synchronise the selected mailbox and send what changed since the last look."""
    box = ctx.selected()
    result = await ctx.user_mail().sync(box.name, claim_recent=not box.readonly)
    updates = box.refresh(result.state, result.recent)
    if updates:
        await ctx.out.send(b"".join(update_line(update) for update in updates))


COMMANDS: dict[str, CommandSpec] = {
    "LIST": CommandSpec(list_mailboxes, AUTHENTICATED),
    "SELECT": CommandSpec(select, AUTHENTICATED),
    "EXAMINE": CommandSpec(examine, AUTHENTICATED),
}
