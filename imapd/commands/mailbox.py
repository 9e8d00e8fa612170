"""Mailbox commands: LIST, LSUB, SELECT, EXAMINE, CREATE, DELETE, RENAME, (UN)SUBSCRIBE,
STATUS, and the untagged updates of a selected mailbox."""

from __future__ import annotations

from collections.abc import Iterable

from imapd import listpattern
from imapd.commands.base import AUTHENTICATED, CommandSpec, Completion, Context, args_of
from imapd.commands.context import removed_lines
from imapd.commands.resync import resync_lines
from imapd.errors import BadCommand, CommandFailed
from imapd.names import canonical_name
from imapd.parsed import Command, ListArgs, MailboxArgs, RenameArgs, StatusArgs
from imapd.protocol import (
    FLAG_TO_LETTER,
    SPECIAL_USE,
    SYSTEM_FLAGS,
    Code,
    Status,
    flags_from_letters,
)
from imapd.responses import (
    Atom,
    Value,
    astring,
    fetch_line,
    flag_list,
    list_line,
    status_line,
    untagged,
)
from imapd.sequences import compress
from imapd.session import (
    Exists,
    Expunge,
    FlagsChanged,
    Recent,
    SelectedMailbox,
    Update,
)
from mailrs.errors import InvalidMailboxName, MailboxNotFound
from mailrs.store.names import DELIMITER, INBOX
from mailrs.store.records import MailboxState, SyncResult


def mailbox_name(wire: str) -> str:
    """The canonical mailbox name for a name sent by a client (modified UTF-7)."""
    return canonical_name(wire)


def split_flags(flags: tuple[str, ...] | list[str]) -> tuple[str, str]:
    """Maildir letters and space-separated keywords for a list of IMAP flags."""
    letters = set()
    keywords: dict[str, str] = {}
    for flag in flags:
        letter = FLAG_TO_LETTER.get(flag.upper())
        if letter is not None:
            letters.add(letter)
        elif not flag.startswith("\\"):
            keywords.setdefault(flag.lower(), flag)
    return "".join(sorted(letters)), " ".join(keywords.values())


def mailbox_attributes(name: str, all_names: set[str]) -> list[str]:
    """LIST attributes: children, and the SPECIAL-USE role of the standard folders."""
    prefix = name + DELIMITER
    has_children = any(other.startswith(prefix) for other in all_names)
    attributes = ["\\HasChildren" if has_children else "\\HasNoChildren"]
    if name in SPECIAL_USE:
        attributes.append(SPECIAL_USE[name])
    return attributes


def implied_parents(names: set[str]) -> set[str]:
    """Levels above existing mailboxes that are not mailboxes themselves."""
    parents = set()
    for name in names:
        parts = name.split(DELIMITER)
        for depth in range(1, len(parts)):
            parent = DELIMITER.join(parts[:depth])
            if parent not in names:
                parents.add(parent)
    return parents


def list_order(name: str) -> tuple[bool, str]:
    """INBOX first, then by name."""
    return (name != INBOX, name)


async def list_mailboxes(ctx: Context, command: Command) -> Completion:
    """LIST reference pattern."""
    args = args_of(command, ListArgs)
    if not args.pattern:
        await ctx.out.send(list_line(["\\Noselect"], DELIMITER, ""))
        return Completion("LIST completed")
    pattern = listpattern.combine(args.reference, args.pattern)
    names = set(await ctx.user_mail().list_mailboxes())
    lines = []
    for name in sorted(names | implied_parents(names), key=list_order):
        wire = ctx.wire_name(name)
        if not listpattern.matches(pattern, wire):
            continue
        if name in names:
            attributes = mailbox_attributes(name, names)
        else:
            attributes = ["\\Noselect", "\\HasChildren"]
        lines.append(list_line(attributes, DELIMITER, wire, ctx.session.utf8))
    await ctx.out.send(b"".join(lines))
    return Completion("LIST completed")


async def lsub(ctx: Context, command: Command) -> Completion:
    """LSUB reference pattern: the subscribed names that match."""
    args = args_of(command, ListArgs)
    mail = ctx.user_mail()
    pattern = listpattern.combine(args.reference, args.pattern)
    existing = set(await mail.list_mailboxes())
    subscribed = set(await mail.subscriptions())
    lines = []
    for name in sorted(subscribed | implied_parents(subscribed), key=list_order):
        wire = ctx.wire_name(name)
        if not args.pattern or not listpattern.matches(pattern, wire):
            continue
        if name not in subscribed:
            if "%" not in pattern:
                continue
            # RFC 3501 6.3.9: a "%" that stops above subscribed names shows their parent
            # as \Noselect, unless one of those names is listed itself.
            below = [s for s in subscribed if s.startswith(name + DELIMITER)]
            if any(listpattern.matches(pattern, ctx.wire_name(s)) for s in below):
                continue
            attributes = ["\\Noselect"]
        else:
            attributes = [] if name in existing else ["\\Noselect"]
        lines.append(
            list_line(attributes, DELIMITER, wire, ctx.session.utf8).replace(
                b"* LIST", b"* LSUB", 1
            )
        )
    await ctx.out.send(b"".join(lines))
    return Completion("LSUB completed")


def _flags_line(box: SelectedMailbox) -> bytes:
    keywords: dict[str, str] = {}
    for message in box.messages:
        for keyword in message.keyword_list:
            keywords.setdefault(keyword.lower(), keyword)
    box.announced = keywords
    return untagged("FLAGS", flag_list([*SYSTEM_FLAGS, *sorted(keywords.values())]))


def flags_announcement(box: SelectedMailbox, keywords: Iterable[str]) -> bytes:
    """``* FLAGS`` when a keyword is about to be shown that the client was not told of.

    RFC 3501 7.2.6: the FLAGS response names every flag a FETCH may show (imaptest
    reports "Keyword used without being in FLAGS" otherwise).
    """
    new = {k.lower(): k for k in keywords if k.lower() not in box.announced}
    if not new:
        return b""
    box.announced.update(new)
    known = [*SYSTEM_FLAGS, *sorted(box.announced.values())]
    line = untagged("FLAGS", flag_list(known))
    if box.readonly:
        return line
    permanent = flag_list([*known, "\\*"])
    return line + status_line(None, Status.OK, "Flags permitted", Code.PERMANENTFLAGS, permanent)


async def _open(ctx: Context, command: Command, readonly: bool) -> Completion:
    args = args_of(command, MailboxArgs)
    if args.qresync is not None and not ctx.session.qresync:
        raise BadCommand("QRESYNC must be enabled first (ENABLE QRESYNC)")
    if ctx.session.selected is not None and (ctx.session.qresync or ctx.session.rev2):
        # RFC 7162 3.2.11, RFC 9051 7.1: the end of the old mailbox's responses
        await ctx.out.send(status_line(None, Status.OK, "Previous mailbox closed", Code.CLOSED))
    ctx.session.deselect()  # a failed SELECT leaves no mailbox selected
    name = ctx.mailbox_name(args.mailbox)
    if args.condstore:
        ctx.session.condstore = True
    result = await ctx.user_mail().sync(name, claim_recent=not readonly)
    box = SelectedMailbox.open(result.state, readonly, result.recent)
    box.condstore = ctx.session.condstore
    box.qresync = ctx.session.qresync
    if ctx.session.rev2:  # RFC 9051: no \\Recent
        box.no_recent, box.recent = True, set()
    permanent = [] if readonly else [*SYSTEM_FLAGS, *sorted(box.announced.values()), "\\*"]
    permanent_text = "Read-only mailbox" if readonly else "Flags permitted"
    lines = [_flags_line(box), untagged(str(box.exists), "EXISTS")]
    if ctx.session.rev2:  # RFC 9051 6.3.2: a LIST response names the mailbox
        lines.append(list_line([], DELIMITER, ctx.wire_name(name), utf8=True))
    else:
        lines.append(untagged(str(len(box.recent)), "RECENT"))
    unseen = box.first_unseen()
    if unseen is not None and not ctx.session.rev2:
        lines.append(
            status_line(
                None, Status.OK, f"Message {unseen} is first unseen", Code.UNSEEN, str(unseen)
            )
        )
    lines += [
        status_line(None, Status.OK, "UIDs valid", Code.UIDVALIDITY, str(box.uidvalidity)),
        status_line(None, Status.OK, "Predicted next UID", Code.UIDNEXT, str(box.uidnext)),
        status_line(None, Status.OK, permanent_text, Code.PERMANENTFLAGS, flag_list(permanent)),
        status_line(None, Status.OK, "Highest", Code.HIGHESTMODSEQ, str(box.highestmodseq)),
    ]
    if args.qresync is not None and args.qresync.uidvalidity == box.uidvalidity:
        lines += await resync_lines(ctx, box, args.qresync)
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


async def create(ctx: Context, command: Command) -> Completion:
    """CREATE mailbox (a trailing delimiter is dropped; missing parents are made)."""
    args = args_of(command, MailboxArgs)
    wire = args.mailbox[:-1] if args.mailbox.endswith(DELIMITER) else args.mailbox
    name = ctx.mailbox_name(wire)
    if name == INBOX:
        raise CommandFailed("INBOX always exists", Code.ALREADYEXISTS)
    await ctx.user_mail().create(name)
    return Completion("CREATE completed")


async def delete(ctx: Context, command: Command) -> Completion:
    """DELETE mailbox (never INBOX)."""
    name = ctx.mailbox_name(args_of(command, MailboxArgs).mailbox)
    if name == INBOX:
        raise CommandFailed("INBOX cannot be deleted", Code.CANNOT)
    box = ctx.session.selected
    await ctx.user_mail().delete(name)
    if box is not None and box.name == name:
        ctx.session.deselect()
    return Completion("DELETE completed")


async def rename(ctx: Context, command: Command) -> Completion:
    """RENAME old new (INBOX: its messages move to the new mailbox)."""
    args = args_of(command, RenameArgs)
    old, new = ctx.mailbox_name(args.old), ctx.mailbox_name(args.new)
    mail = ctx.user_mail()
    if not await mail.exists(old):
        raise MailboxNotFound(f"no mailbox {old!r}")
    if new == INBOX or await mail.exists(new):
        raise CommandFailed("The new name already exists", Code.ALREADYEXISTS)
    await mail.rename(old, new)
    return Completion("RENAME completed")


async def subscribe(ctx: Context, command: Command) -> Completion:
    """SUBSCRIBE mailbox."""
    name = ctx.mailbox_name(args_of(command, MailboxArgs).mailbox)
    if not await ctx.user_mail().exists(name):
        raise MailboxNotFound(f"no mailbox {name!r}")
    await ctx.user_mail().subscribe(name)
    return Completion("SUBSCRIBE completed")


async def unsubscribe(ctx: Context, command: Command) -> Completion:
    """UNSUBSCRIBE mailbox."""
    wire = args_of(command, MailboxArgs).mailbox
    try:
        name = ctx.mailbox_name(wire)
    except InvalidMailboxName:
        name = wire
    if not await ctx.user_mail().unsubscribe(name):
        raise CommandFailed("Not subscribed", Code.NONEXISTENT)
    return Completion("UNSUBSCRIBE completed")


async def status(ctx: Context, command: Command) -> Completion:
    """STATUS mailbox (items)."""
    args = args_of(command, StatusArgs)
    name = ctx.mailbox_name(args.mailbox)
    await ctx.out.send(await status_line_of(ctx, name, args.items))
    return Completion("STATUS completed")


async def status_line_of(ctx: Context, name: str, wanted: tuple[str, ...]) -> bytes:
    """``* STATUS name (items)`` for a mailbox (STATUS, and LIST's RETURN (STATUS))."""
    counters = await ctx.user_mail().status(name)
    values = {
        "MESSAGES": counters.messages,
        "RECENT": counters.recent,
        "UIDNEXT": counters.uidnext,
        "UIDVALIDITY": counters.uidvalidity,
        "UNSEEN": counters.unseen,
        "HIGHESTMODSEQ": counters.highestmodseq,
        "SIZE": counters.size,
        "DELETED": counters.deleted,
    }
    box = ctx.session.selected
    if box is not None and box.name == name:
        values["RECENT"] = len(box.recent) + counters.recent
    if "HIGHESTMODSEQ" in wanted:
        ctx.session.condstore = True
    items = " ".join(f"{item} {values[item]}" for item in dict.fromkeys(wanted))
    return untagged("STATUS", astring(ctx.wire_name(name), ctx.session.utf8), f"({items})")


def updates_bytes(box: SelectedMailbox, updates: list[Update]) -> bytes:
    """The untagged responses for updates; with QRESYNC, each run of expunges is one
    ``* VANISHED uid-set`` (RFC 7162 3.2.10) instead of ``* n EXPUNGE`` lines."""
    gone = {u.uid for u in updates if isinstance(u, Expunge)}
    head = removed_lines(box, gone)  # REMOVEFROM while the old numbers still hold
    if not box.qresync:
        return head + b"".join(update_line(u) for u in updates)
    out: list[bytes] = [head]
    vanished: list[int] = []
    for update in updates:
        if isinstance(update, Expunge):
            vanished.append(update.uid)
            continue
        if vanished:
            out.append(untagged("VANISHED", compress(vanished)))
            vanished = []
        out.append(update_line(update))
    if vanished:
        out.append(untagged("VANISHED", compress(vanished)))
    return b"".join(out)


def update_line(update: Update) -> bytes:
    """The untagged response that announces one change."""
    match update:
        case Expunge(seq=seq):
            return untagged(str(seq), "EXPUNGE")
        case Exists(count=count):
            return untagged(str(count), "EXISTS")
        case Recent(count=count):
            return untagged(str(count), "RECENT")
        case FlagsChanged(seq=seq, uid=uid, flags=flags, recent=recent, keywords=kw, modseq=ms):
            names = [Atom(flag) for flag in flags_from_letters(flags, recent, kw)]
            items: list[tuple[str, Value]] = [("UID", uid), ("FLAGS", names)]
            if ms is not None:
                items.append(("MODSEQ", [ms]))
            return fetch_line(seq, items)
    raise TypeError(f"unknown update {update!r}")


async def report_changes(ctx: Context, allow_expunge: bool = True) -> None:
    """Re-synchronise the selected mailbox and send what changed since the last look."""
    box = ctx.selected()
    try:
        result = await ctx.user_mail().changes(
            box.name, box.seen_modseq, box.uidnext, claim_recent=not box.readonly
        )
    except MailboxNotFound:
        # Deleted or renamed by another session: nothing sensible is left to show.
        await ctx.out.send(status_line(None, Status.BYE, "The selected mailbox was removed"))
        raise ConnectionAbortedError("selected mailbox removed") from None
    pending = allow_expunge and bool(box.held)
    if result is None and not pending:
        return
    if result is None:  # only the expunges held back during FETCH/STORE/SEARCH to tell
        unchanged = MailboxState(
            box.name, box.uidvalidity, box.uidnext, box.seen_modseq, [], vanished=frozenset()
        )
        result = SyncResult(unchanged, frozenset())
    known_uidnext = box.uidnext
    updates = box.refresh(result.state, result.recent, allow_expunge)
    if updates:
        shown = [k for u in updates if isinstance(u, FlagsChanged) for k in u.keywords.split()]
        shown += [k for m in box.messages if m.uid >= known_uidnext for k in m.keyword_list]
        await ctx.out.send(flags_announcement(box, shown) + updates_bytes(box, updates))


COMMANDS: dict[str, CommandSpec] = {
    "LSUB": CommandSpec(lsub, AUTHENTICATED),
    "SELECT": CommandSpec(select, AUTHENTICATED),
    "EXAMINE": CommandSpec(examine, AUTHENTICATED),
    "CREATE": CommandSpec(create, AUTHENTICATED),
    "DELETE": CommandSpec(delete, AUTHENTICATED),
    "RENAME": CommandSpec(rename, AUTHENTICATED),
    "SUBSCRIBE": CommandSpec(subscribe, AUTHENTICATED),
    "UNSUBSCRIBE": CommandSpec(unsubscribe, AUTHENTICATED),
    "STATUS": CommandSpec(status, AUTHENTICATED),
}
