"""APPEND with MULTIAPPEND (RFC 3502), CATENATE (RFC 4469) and literal8 (RFC 3516).

Every message of one APPEND is built first (CATENATE's URL parts read from the
user's own mailboxes), the quota is checked for all of them together, and then they
are stored all or none: a failure part-way takes back those already stored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

from imapd.arguments import section as parse_section
from imapd.backend import OverQuota
from imapd.binary import stored_form
from imapd.commands.base import AUTHENTICATED, CommandSpec, Completion, Context, args_of
from imapd.commands.fetch import section_bytes
from imapd.commands.mailbox import mailbox_name, split_flags
from imapd.cursor import Cursor
from imapd.errors import BadCommand, CommandFailed
from imapd.parsed import AppendArgs, AppendItem, Command, Section
from imapd.protocol import Code
from imapd.sequences import compress
from mailrs.errors import MailboxNotFound, MessageNotFound
from mailrs.store import mutf7

MAX_MESSAGE_BYTES = 50 * 1024 * 1024  # one built message (CATENATE can name big ones)
MAX_APPEND_BYTES = 4 * MAX_MESSAGE_BYTES  # every message of one MULTIAPPEND together
# /mailbox[;UIDVALIDITY=n]/;UID=n[/;SECTION=s][/;PARTIAL=a[.b]] (RFC 5092), maybe after
# imap://host
_URL = re.compile(
    r"^(?:imap://[^/]*)?/(?P<mailbox>[^;]+?)(?:;UIDVALIDITY=(?P<uidvalidity>[1-9][0-9]{0,9}))?"
    r"/;UID=(?P<uid>[1-9][0-9]{0,9})(?:/;SECTION=(?P<section>[^/;]+))?"
    r"(?:/;PARTIAL=(?P<start>[0-9]{1,10})(?:\.(?P<length>[1-9][0-9]{0,9}))?)?$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class ImapUrl:
    """The message (and section) an IMAP URL names."""

    mailbox: str
    uidvalidity: int | None
    uid: int
    section: Section
    partial: tuple[int, int | None] | None = None  # ;PARTIAL=start[.length]


def parse_url(url: str) -> ImapUrl:
    """An IMAP URL naming one message of the user's; raises CommandFailed [BADURL]."""
    match = _URL.match(url)
    if match is None:
        raise _bad_url(url)
    section = Section()
    if match.group("section"):
        cur = Cursor(b"[" + unquote(match.group("section")).encode() + b"]")
        try:
            section = parse_section(cur)
            cur.end()
        except Exception:
            raise _bad_url(url) from None
    validity = match.group("uidvalidity")
    try:
        name = mailbox_name(mutf7.encode(unquote(match.group("mailbox"), errors="strict")))
    except Exception:
        raise _bad_url(url) from None
    partial = None
    if match.group("start") is not None:
        length = match.group("length")
        partial = (int(match.group("start")), int(length) if length else None)
    uid = int(match.group("uid"))
    return ImapUrl(name, int(validity) if validity else None, uid, section, partial)


def _bad_url(url: str) -> CommandFailed:
    shown = url if len(url) < 200 and '"' not in url and "\\" not in url else "url"
    return CommandFailed("Bad or unknown URL", Code.BADURL, f'"{shown}"')


async def _resolve(ctx: Context, url: str) -> bytes:
    """The bytes an IMAP URL names in the user's mailboxes."""
    target = parse_url(url)
    mail = ctx.user_mail()
    if not await mail.exists(target.mailbox):
        raise _bad_url(url)
    state = (await mail.sync(target.mailbox, claim_recent=False)).state
    if target.uidvalidity is not None and target.uidvalidity != state.uidvalidity:
        raise _bad_url(url)
    found = next((m for m in state.messages if m.uid == target.uid), None)
    if found is None:
        raise _bad_url(url)
    try:
        raw = await mail.read(target.mailbox, found.key)
    except MessageNotFound:
        raise _bad_url(url) from None
    data = section_bytes(None, raw, target.section)
    if target.partial is not None:
        start, length = target.partial
        data = data[start:] if length is None else data[start : start + length]
    return data


def check_size(size: int, limit: int = MAX_MESSAGE_BYTES) -> None:
    """Refuse a message (or an APPEND's messages together) over ``limit`` with NO [TOOBIG]."""
    if size > limit:
        raise CommandFailed("Message too large", Code.TOOBIG)


async def _build(ctx: Context, item: AppendItem) -> bytes:
    """One message's bytes: its parts joined, as stored (``stored_form``)."""
    chunks = []
    size = 0
    for part in item.parts:
        chunk = part if isinstance(part, bytes) else await _resolve(ctx, part)
        size += len(chunk)
        check_size(size)  # URLs can name big messages: stop before memory does
        chunks.append(chunk)
    data = b"".join(chunks)
    if not data:
        raise CommandFailed("Empty message", Code.CANNOT)
    return stored_form(data)  # CRLF text, so RFC822.SIZE and every FETCH agree


async def append(ctx: Context, command: Command) -> Completion:
    """APPEND mailbox 1*([(flags)] [date-time] literal|literal8|CATENATE (...))."""
    args = args_of(command, AppendArgs)
    if any(item.utf8 for item in args.items) and not ctx.session.utf8:
        raise BadCommand("APPEND UTF8 needs ENABLE UTF8=ACCEPT (RFC 6855)")
    name = ctx.mailbox_name(args.mailbox)
    mail = ctx.user_mail()
    catenated = any(not isinstance(part, bytes) for item in args.items for part in item.parts)
    if catenated and not await mail.exists(name):
        raise CommandFailed("No such mailbox", Code.TRYCREATE)  # before reading any URL
    messages = []
    total = 0
    for item in args.items:
        data = await _build(ctx, item)
        total += len(data)
        check_size(total, MAX_APPEND_BYTES)
        letters, keywords = split_flags(item.flags)
        messages.append((data, letters, keywords, item.date, item.zone))
    try:  # one thread hop for the checks and the store (the tagged OK waits for fsync)
        uidvalidity, uids = await ctx.backend.append_checked(mail, name, messages)
    except MailboxNotFound:
        raise CommandFailed("No such mailbox", Code.TRYCREATE) from None
    except OverQuota:
        raise CommandFailed("Quota exceeded", Code.OVERQUOTA) from None
    return Completion("APPEND completed", Code.APPENDUID, f"{uidvalidity} {compress(uids)}")


COMMANDS: dict[str, CommandSpec] = {
    "APPEND": CommandSpec(append, AUTHENTICATED),
}
