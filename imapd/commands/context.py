"""CONTEXT=SEARCH (RFC 5267): live SEARCH results kept up to date, and CANCELUPDATE.

``SEARCH RETURN (UPDATE ...)`` leaves a context on the selected mailbox: the tag, whether
it counts UIDs, the search keys and the UIDs that matched. After each command (and while
idling) the search runs again and the difference goes out as ``* ESEARCH (TAG "t") [UID]
ADDTO (0 set)`` / ``REMOVEFROM (0 set)`` (positions are 0: a SEARCH result is unordered).
Expunged messages leave the result before their EXPUNGE or VANISHED is sent, while their
sequence numbers are still the client's (``removed_lines``).

CONTEXT=SORT: ``SORT RETURN (UPDATE ...)`` keeps the result in sort order, and each change
names its position in it (RFC 5267 4.3): removals one by one from the last position
backwards, then additions at their positions in the new order from the first onwards,
so the client's list stays right whether it applies them one after another or at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from imapd.commands.base import SELECTED, CommandSpec, Completion, Context, args_of
from imapd.commands.search import matching
from imapd.commands.sort import sorted_messages
from imapd.parsed import AtomsArgs, Command
from imapd.responses import quoted
from imapd.sequences import compress
from imapd.session import MessageView, SearchContext, SelectedMailbox


def change_line(context: SearchContext, kind: str, numbers: Iterable[int]) -> bytes:
    """``* ESEARCH (TAG "t") [UID] ADDTO|REMOVEFROM (0 set)``."""
    uid = b" UID" if context.uid else b""
    text = compress(list(numbers)).encode()
    return (
        b"* ESEARCH (TAG "
        + quoted(context.tag)
        + b")"
        + uid
        + b" %s (0 %s)\r\n"
        % (
            kind.encode(),
            text,
        )
    )


def positioned_line(context: SearchContext, kind: str, pairs: list[tuple[int, int]]) -> bytes:
    """``* ESEARCH (TAG "t") [UID] ADDTO|REMOVEFROM (position number ...)`` for a sort."""
    uid = b" UID" if context.uid else b""
    items = " ".join(f"{position} {number}" for position, number in pairs)
    return b"* ESEARCH (TAG " + quoted(context.tag) + b")" + uid + f" {kind} ({items})\r\n".encode()


def _sorted_removals(
    context: SearchContext, gone: Iterable[int], number: Callable[[int], int | None]
) -> bytes:
    """REMOVEFROM for a live sort, last position first; the UIDs leave ``ordered``."""
    leaving = set(gone)
    pairs = []
    for index in range(len(context.ordered) - 1, -1, -1):
        uid = context.ordered[index]
        if uid in leaving:
            shown = number(uid)
            if shown is not None:
                pairs.append((index + 1, shown))
    context.ordered = [u for u in context.ordered if u not in leaving]
    context.result -= leaving
    return positioned_line(context, "REMOVEFROM", pairs) if pairs else b""


def removed_lines(box: SelectedMailbox, gone: set[int]) -> bytes:
    """REMOVEFROM for expunged UIDs, numbered as before the expunge (sent before it)."""
    if not box.contexts or not gone:
        return b""
    before = sorted(set(box.uids) | gone)
    position = {uid: seq for seq, uid in enumerate(before, start=1) if uid in gone}
    lines = []
    for context in box.contexts.values():
        hit = context.result & gone
        if hit and context.sort is not None:
            shown = (lambda u: u) if context.uid else position.get
            lines.append(_sorted_removals(context, hit, shown))
        elif hit:
            context.result -= hit
            numbers = hit if context.uid else (position[u] for u in hit)
            lines.append(change_line(context, "REMOVEFROM", numbers))
    return b"".join(lines)


async def search_updates(ctx: Context) -> None:
    """Run each live search again and send what entered and left its result."""
    box = ctx.session.selected
    if box is None or not box.contexts:
        return
    lines = []
    for context in list(box.contexts.values()):
        found = await matching(ctx, box, context.criteria)
        if context.sort is not None:
            if changes := await _sort_update(ctx, box, context, found):
                lines.append(changes)
            continue
        now = {message.uid: seq for seq, message in found}
        removed = [u for u in context.result if u not in now]
        added = [u for u in now if u not in context.result]
        if removed:
            numbers = []
            for uid in removed:
                seq = box.seq_of_uid(uid)
                if seq is not None:
                    numbers.append(uid if context.uid else seq)
            if numbers:
                lines.append(change_line(context, "REMOVEFROM", numbers))
        if added:
            numbers = added if context.uid else [now[u] for u in added]
            lines.append(change_line(context, "ADDTO", numbers))
        context.result = set(now)
    if lines:
        await ctx.out.send(b"".join(lines))


async def _sort_update(
    ctx: Context, box: SelectedMailbox, context: SearchContext, found: list[tuple[int, MessageView]]
) -> bytes:
    """What left and what entered a live sort, each at its position."""
    assert context.sort is not None
    ordered = await sorted_messages(ctx, context.sort, found)
    now = [message.uid for _, message in ordered]
    seqs = {message.uid: seq for seq, message in ordered}
    present = set(now)
    gone = [u for u in context.ordered if u not in present]

    def number(uid: int) -> int | None:
        return uid if context.uid else box.seq_of_uid(uid)

    head = _sorted_removals(context, gone, number)
    pairs = [
        (index + 1, uid if context.uid else seqs[uid])
        for index, uid in enumerate(now)
        if uid not in context.result
    ]
    context.ordered, context.result = now, present
    return head + (positioned_line(context, "ADDTO", pairs) if pairs else b"")


async def cancelupdate(ctx: Context, command: Command) -> Completion:
    """CANCELUPDATE "tag" ...: stop the live searches of those tags."""
    box = ctx.selected()
    for tag in args_of(command, AtomsArgs).names:
        box.contexts.pop(tag, None)
    return Completion("CANCELUPDATE completed")


COMMANDS: dict[str, CommandSpec] = {
    "CANCELUPDATE": CommandSpec(cancelupdate, SELECTED),
}
