"""NOTIFY (RFC 5465): which events the client wants, and the responses that tell it.

``NOTIFY SET`` stores the event groups on the session (``NotifyState``); the connection
then follows the user's mailbox events between commands (``imapd.connection``) and IDLE
does the same while it waits; both call ``notify_changes``. For the selected mailbox the
updates are the usual EXISTS / EXPUNGE (or VANISHED) / FETCH (FLAGS), plus the FETCH
items MessageNew asked for; for other mailboxes a ``STATUS`` response when their counts
(MessageNew, MessageExpunge) or HIGHESTMODSEQ (FlagChange) moved; ``LIST`` responses for
mailboxes created, deleted or renamed (MailboxName; OLDNAME for a rename, known by the
UIDVALIDITY a renamed mailbox keeps) and (un)subscribed (SubscriptionChange). What
changed is found by comparing with what the session last saw, so a missed or merged
event costs nothing but a later look.
"""

from __future__ import annotations

from imapd.commands import fetch as fetch_command
from imapd.commands.base import AUTHENTICATED, CommandSpec, Completion, Context, args_of
from imapd.commands.context import search_updates
from imapd.commands.mailbox import report_changes
from imapd.errors import CommandFailed
from imapd.names import canonical_name, wire_name
from imapd.notify_grammar import SELECTED_FILTERS
from imapd.parsed import Command, FetchArgs, NotifyArgs, NotifyGroup
from imapd.protocol import Code
from imapd.responses import astring, list_line, untagged
from imapd.sequences import SequenceSet
from imapd.session import NotifyState
from mailrs.errors import MailboxNotFound
from mailrs.store.names import DELIMITER, INBOX
from mailrs.store.records import MailboxStatus

SUPPORTED = ("MessageNew", "MessageExpunge", "FlagChange", "MailboxName", "SubscriptionChange")
_MESSAGE_EVENTS = {"MessageNew", "MessageExpunge", "FlagChange"}


def _matches(group: NotifyGroup, name: str, state: NotifyState) -> bool:
    """True when ``name`` is one of the mailboxes the (non-selected) group names."""
    if group.kind == "PERSONAL":
        return True
    if group.kind == "INBOXES":
        return name == INBOX
    if group.kind == "SUBSCRIBED":
        return name in state.subscribed
    targets = [_canonical(m, state.utf8) for m in group.mailboxes]
    if group.kind == "MAILBOXES":
        return name in targets
    return any(name == t or name.startswith(t + DELIMITER) for t in targets)  # SUBTREE


def _canonical(wire: str, utf8: bool) -> str:
    try:
        return canonical_name(wire, utf8)
    except ValueError:
        return wire


def _events_for(state: NotifyState, name: str) -> tuple[str, ...] | None:
    """The events of the first non-selected group naming ``name`` (None: not watched)."""
    for group in state.args.groups or ():
        if group.kind not in SELECTED_FILTERS and _matches(group, name, state):
            return group.events
    return None


def _status_line(name: str, counters: MailboxStatus, events: tuple[str, ...], utf8: bool) -> bytes:
    items = f"MESSAGES {counters.messages} UIDNEXT {counters.uidnext}"
    items += f" UIDVALIDITY {counters.uidvalidity}"
    if "FlagChange" in events:
        items += f" HIGHESTMODSEQ {counters.highestmodseq}"
    return untagged("STATUS", astring(wire_name(name, utf8), utf8), f"({items})")


def _counts(counters: MailboxStatus) -> tuple[int, int, int, int]:
    return counters.messages, counters.uidnext, counters.uidvalidity, counters.highestmodseq


def _selected_group(state: NotifyState) -> NotifyGroup | None:
    return next((g for g in state.args.groups or () if g.kind in SELECTED_FILTERS), None)


async def _other_mailboxes(ctx: Context, state: NotifyState, initial: bool) -> list[bytes]:
    """STATUS for watched mailboxes whose counts moved (all of them with SET STATUS)."""
    mail = ctx.user_mail()
    selected = ctx.session.selected.name if ctx.session.selected is not None else None
    lines = []
    for name in sorted(state.names):
        events = _events_for(state, name)
        if name == selected or not events or not _MESSAGE_EVENTS & set(events):
            continue
        try:
            counters = await mail.status(name)
        except MailboxNotFound:
            continue
        now, before = _counts(counters), state.counts.get(name)
        state.counts[name] = now
        if initial:
            if state.args.status:
                lines.append(_status_line(name, counters, events, state.utf8))
            continue
        if (
            before is None
            or now[:3] != before[:3]
            or ("FlagChange" in events and now[3] != before[3])
        ):
            lines.append(_status_line(name, counters, events, state.utf8))
    return lines


def _wants_names(state: NotifyState) -> bool:
    return any("MailboxName" in g.events for g in state.args.groups or ())


async def _validities(ctx: Context, names: set[str]) -> dict[str, int]:
    """The UIDVALIDITY of each mailbox that still exists."""
    mail = ctx.user_mail()
    found = {}
    for name in names:
        try:
            found[name] = (await mail.status(name)).uidvalidity
        except MailboxNotFound:
            continue
    return found


async def _renames(ctx: Context, state: NotifyState, names: set[str]) -> dict[str, str]:
    """New name -> old name for mailboxes renamed since the last look: a name gone and
    a name come with the one UIDVALIDITY (a rename keeps it, RFC 3501 6.3.5)."""
    gone = {state.validity[n]: n for n in state.names - names if n in state.validity}
    came = await _validities(ctx, names - state.names)
    for name in state.names - names:
        state.validity.pop(name, None)
    state.validity.update(came)
    return {new: gone[v] for new, v in came.items() if v in gone}


async def _names_and_subscriptions(ctx: Context, state: NotifyState) -> list[bytes]:
    """LIST for mailboxes created, deleted or renamed (with OLDNAME, RFC 5465 5.4), and
    subscribed or unsubscribed."""
    mail = ctx.user_mail()
    names, subscribed = set(await mail.list_mailboxes()), set(await mail.subscriptions())
    lines = []
    renamed = (
        await _renames(ctx, state, names) if _wants_names(state) and names != state.names else {}
    )
    old_names = set(renamed.values())
    for name in sorted(names ^ state.names):
        events = _events_for(state, name) or ()
        if "MailboxName" not in events and not (
            name in renamed and "MailboxName" in (_events_for(state, renamed[name]) or ())
        ):
            continue
        if name in old_names:
            continue  # told as the new name's OLDNAME
        attributes = [] if name in names else ["\\NonExistent"]
        line = list_line(attributes, DELIMITER, wire_name(name, state.utf8), state.utf8)
        if name in renamed:
            old = astring(wire_name(renamed[name], state.utf8), state.utf8)
            line = line[:-2] + b' ("OLDNAME" (' + old + b"))\r\n"
        lines.append(line)
    for name in sorted(subscribed ^ state.subscribed):
        events = _events_for(state, name) or ()
        if "SubscriptionChange" in events:
            attributes = ["\\Subscribed"] if name in subscribed else []
            lines.append(list_line(attributes, DELIMITER, wire_name(name, state.utf8), state.utf8))
    state.names, state.subscribed = names, subscribed
    return lines


async def _selected_mailbox(ctx: Context, state: NotifyState) -> None:
    """EXISTS / EXPUNGE / FETCH for the selected mailbox, and MessageNew's FETCH items."""
    box = ctx.session.selected
    group = _selected_group(state)
    if box is None or group is None or not group.events:
        return
    uidnext = box.uidnext
    await report_changes(ctx, allow_expunge=group.kind == "SELECTED")
    await search_updates(ctx)
    if group.fetch and box.uidnext > uidnext and box is ctx.session.selected:
        wanted = FetchArgs(SequenceSet(((uidnext, None),)), group.fetch)
        command = Command(tag="*", name="FETCH", args=wanted, uid=True)
        await fetch_command.fetch(ctx, command)


async def notify_changes(ctx: Context) -> None:
    """Send what changed since the last look, as the session's NOTIFY asked."""
    state = ctx.session.notify
    if state is None:
        return
    await _selected_mailbox(ctx, state)
    lines = await _names_and_subscriptions(ctx, state)
    lines += await _other_mailboxes(ctx, state, initial=False)
    if lines:
        await ctx.out.send(b"".join(lines))


async def notify(ctx: Context, command: Command) -> Completion:
    """NOTIFY SET [STATUS] (filter events)... / NOTIFY NONE."""
    args = args_of(command, NotifyArgs)
    if args.groups is None:
        ctx.session.notify = None
        return Completion("NOTIFY completed")
    unsupported = {e for g in args.groups for e in g.events} - set(SUPPORTED)
    if unsupported:
        raise CommandFailed("Event not supported", Code.BADEVENT, "(" + " ".join(SUPPORTED) + ")")
    mail = ctx.user_mail()
    names, subscribed = set(await mail.list_mailboxes()), set(await mail.subscriptions())
    state = NotifyState(args, names, subscribed, utf8=ctx.session.utf8)
    if _wants_names(state):
        state.validity = await _validities(ctx, names)
    lines = await _other_mailboxes(ctx, state, initial=True)
    if lines:
        await ctx.out.send(b"".join(lines))
    ctx.session.notify = state
    return Completion("NOTIFY completed")


COMMANDS: dict[str, CommandSpec] = {
    "NOTIFY": CommandSpec(notify, AUTHENTICATED),
}
