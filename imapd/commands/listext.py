"""LIST with LIST-EXTENDED (RFC 5258), LIST-STATUS (RFC 5819) and SPECIAL-USE selection.

A LIST without options, with one pattern, is the RFC 3501 command of
``imapd.commands.mailbox``; everything else comes here: selection options
(SUBSCRIBED, REMOTE, RECURSIVEMATCH, SPECIAL-USE), several patterns, and the return
options SUBSCRIBED, CHILDREN, SPECIAL-USE and STATUS.
"""

from __future__ import annotations

from imapd import listpattern
from imapd.commands.base import AUTHENTICATED, CommandSpec, Completion, Context, args_of
from imapd.commands.mailbox import (
    implied_parents,
    list_mailboxes,
    list_order,
    mailbox_attributes,
    status_line_of,
)
from imapd.parsed import Command, ListArgs
from imapd.protocol import SPECIAL_USE
from imapd.responses import list_line
from mailrs.store.names import DELIMITER

_NOT_SELECTABLE = {"\\Noselect", "\\NonExistent"}


def _matches(patterns: list[str], wire: str) -> bool:
    return any(listpattern.matches(pattern, wire) for pattern in patterns)


def _line(attributes: list[str], wire: str, childinfo: bool, utf8: bool) -> bytes:
    line = list_line(attributes, DELIMITER, wire, utf8)
    if childinfo:  # RECURSIVEMATCH: a subscribed name below this one (RFC 5258 section 3.5)
        line = line[:-2] + b' ("CHILDINFO" ("SUBSCRIBED"))\r\n'
    return line


async def list_extended(ctx: Context, command: Command) -> Completion:
    """LIST [(selection)] reference (pattern ...) [RETURN (options)]."""
    args = args_of(command, ListArgs)
    if not args.extended:
        return await list_mailboxes(ctx, command)
    mail = ctx.user_mail()
    existing = set(await mail.list_mailboxes())
    subscribed = set(await mail.subscriptions())
    patterns = [listpattern.combine(args.reference, p) for p in args.patterns if p]
    by_subscription = "SUBSCRIBED" in args.selection
    special_only = "SPECIAL-USE" in args.selection
    recursive = "RECURSIVEMATCH" in args.selection
    show_subscribed = by_subscription or "SUBSCRIBED" in args.returns
    show_special = special_only or "SPECIAL-USE" in args.returns or not args.returns
    chosen = subscribed if by_subscription else existing
    if special_only:
        chosen = {name for name in chosen if name in SPECIAL_USE and name in existing}
    candidates = existing | subscribed | implied_parents(existing | subscribed)
    lines: list[bytes] = []
    for name in sorted(candidates, key=list_order):
        wire = ctx.wire_name(name)
        if not _matches(patterns, wire):
            continue
        # CHILDINFO tells of a subscribed name below that the patterns did not list
        # itself (RFC 5258 3.5; a child listed on its own needs no parent line)
        childinfo = (
            recursive
            and by_subscription
            and any(
                c.startswith(name + DELIMITER) and not _matches(patterns, ctx.wire_name(c))
                for c in chosen
            )
        )
        filtered = by_subscription or special_only or name in existing
        if name not in chosen and not childinfo and filtered:
            continue
        if name in existing:
            attributes = mailbox_attributes(name, existing)
            if not show_special:
                attributes = [a for a in attributes if a not in SPECIAL_USE.values()]
        elif any(e.startswith(name + DELIMITER) for e in existing):
            attributes = ["\\Noselect", "\\HasChildren"]
        else:
            attributes = ["\\NonExistent"]
        if show_subscribed and name in subscribed:
            attributes.append("\\Subscribed")
        lines.append(_line(attributes, wire, childinfo, ctx.session.utf8))
        if args.status_items and not _NOT_SELECTABLE & set(attributes):
            lines.append(await status_line_of(ctx, name, args.status_items))
    await ctx.out.send(b"".join(lines))
    return Completion("LIST completed")


COMMANDS: dict[str, CommandSpec] = {
    "LIST": CommandSpec(list_extended, AUTHENTICATED),
}
