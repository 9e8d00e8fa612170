"""URLAUTH (RFC 4467) with URLAUTH=BINARY (RFC 5524): GENURLAUTH, RESETKEY and URLFETCH.

GENURLAUTH signs a rump URL naming one of the user's own messages with that mailbox's
access key (made on first use); URLFETCH gives the data of an authorized URL to whoever
its access identifier admits, or NIL for any URL that does not verify (bad syntax,
another mechanism, expired, wrong key or token, a session it does not admit, a message
gone): one URL's failure is NIL, never the command's. RESETKEY replaces a mailbox's key
(or removes them all), which revokes every URL signed with it.
"""

from __future__ import annotations

import datetime as dt

from imapd import urlauth
from imapd.backend import UserMail
from imapd.binary import literal8
from imapd.commands.base import AUTHENTICATED, CommandSpec, Completion, Context, args_of
from imapd.commands.mailbox import mailbox_name
from imapd.errors import CommandFailed
from imapd.imap_url import BadUrl, ImapUrl, parse
from imapd.parsed import Command, GenUrlauthArgs, ResetKeyArgs, UrlFetch, UrlFetchArgs
from imapd.protocol import Code
from imapd.responses import astring, literal, untagged
from imapd.url_parts import UrlContent, url_section
from mailrs.errors import MessageNotFound
from mailrs.store import mutf7

MAX_FETCH_BYTES = 50 * 1024 * 1024  # one URLFETCH's data together


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _folder(url: ImapUrl) -> str:
    """The canonical mailbox name of a URL's (UTF-8) mailbox; raises BadUrl."""
    try:
        return mailbox_name(mutf7.encode(url.mailbox))
    except Exception:
        raise BadUrl("bad mailbox name") from None


async def _message(mail: UserMail, folder: str, url: ImapUrl) -> tuple[int, str] | None:
    """(UIDVALIDITY, key) of the URL's message, or None when there is no such message."""
    if not await mail.exists(folder):
        return None
    state = (await mail.sync(folder, claim_recent=False)).state
    if url.uidvalidity is not None and url.uidvalidity != state.uidvalidity:
        return None
    found = next((m for m in state.messages if m.uid == url.uid), None)
    return None if found is None else (state.uidvalidity, found.key)


def _refuse(text: str, shown: str = "") -> CommandFailed:
    if shown and len(shown) < 200 and '"' not in shown and "\\" not in shown:
        return CommandFailed(text, Code.BADURL, f'"{shown}"')
    return CommandFailed(text, Code.BADURL)


async def genurlauth(ctx: Context, command: Command) -> Completion:
    """GENURLAUTH rump mechanism ...: the authorized URLs, in one untagged response."""
    args = args_of(command, GenUrlauthArgs)
    mail = ctx.user_mail()
    authorized = []
    for text, mechanism in args.pairs:
        if mechanism.upper() != urlauth.MECHANISM:
            raise CommandFailed(f"Unsupported URLAUTH mechanism {mechanism[:40]}")
        try:
            url = parse(text)
            folder = _folder(url)
            url_section(url.section)
        except (BadUrl, ValueError) as exc:
            raise _refuse(f"Invalid URL: {exc}", text) from None
        if url.rump is None or url.token is not None or url.rump != text:
            raise _refuse("Not a URLAUTH rump URL (;URLAUTH=access, no verifier)", text)
        if url.expired(_now()):
            raise _refuse("The URL has already expired", text)
        if url.owner != mail.address.lower():
            raise _refuse("Not permitted to authorize URLs of another user", text)
        found = await _message(mail, folder, url)
        if found is None:
            raise _refuse("No such message", text)
        _, key = await ctx.backend.urlauth_key(mail.address, folder, create=True)
        assert key is not None
        signed = urlauth.token(key, found[0], url.rump)
        authorized.append(astring(f"{text}:{urlauth.MECHANISM.lower()}:{signed}"))
    await ctx.out.send(untagged("GENURLAUTH", *authorized))
    return Completion("GENURLAUTH completed")


async def resetkey(ctx: Context, command: Command) -> Completion:
    """RESETKEY [mailbox [mechanism ...]]: revoke the URLs of a mailbox, or of all."""
    args = args_of(command, ResetKeyArgs)
    mail = ctx.user_mail()
    for mechanism in args.mechanisms:
        if mechanism.upper() != urlauth.MECHANISM:
            raise CommandFailed(f"Unsupported URLAUTH mechanism {mechanism[:40]}")
    if args.mailbox is None:
        await ctx.backend.reset_urlauth(mail.address, None)
        return Completion("All keys removed")
    folder = ctx.mailbox_name(args.mailbox)
    if not await mail.exists(folder):
        raise CommandFailed("No such mailbox", Code.NONEXISTENT)
    await ctx.backend.reset_urlauth(mail.address, folder)
    return Completion("Key reset", Code.URLMECH, urlauth.MECHANISM)


async def _authorized(ctx: Context, text: str) -> UrlContent | None:
    """The content of an authorized URL this session may fetch, or None."""
    try:
        url = parse(text)
        folder = _folder(url)
        section = url_section(url.section)
    except (BadUrl, ValueError):
        return None
    if url.token is None or (url.mechanism or "").upper() != urlauth.MECHANISM:
        return None
    if url.expired(_now()) or not urlauth.may_fetch(url, ctx.user_mail().address):
        return None
    own = ctx.user_mail()
    mail = own if url.owner == own.address.lower() else None
    exists, key = await ctx.backend.urlauth_key(url.owner, folder, create=False)
    if not exists:
        urlauth.verify(None, 0, url)  # the same work as for a real key
        return None
    if mail is None:
        mail = ctx.backend.open_user(url.owner)
    try:
        found = await _message(mail, folder, url)
        if not urlauth.verify(key, found[0] if found else 0, url) or found is None:
            return None
        raw = await mail.read(folder, found[1])
    except MessageNotFound:
        return None
    finally:
        if mail is not own:
            await mail.close()
    return UrlContent(raw, section, url.partial)


def _extended(content: UrlContent, params: tuple[str, ...]) -> list[bytes]:
    """The (BODYPARTSTRUCTURE ...) (BODY ...) / (BINARY ...) items of RFC 5524."""
    items = []
    binary = "BINARY" in params
    if "BODYPARTSTRUCTURE" in params:
        structure = content.structure(decoded=binary)
        if structure is not None:
            items.append(b"(BODYPARTSTRUCTURE " + structure + b")")
    if binary:
        data = content.binary()
        items.append(b"(BINARY " + (b"NIL" if data is None else literal8(data)) + b")")
    elif "BODY" in params:
        items.append(b"(BODY " + literal(content.body()) + b")")
    return items


async def urlfetch(ctx: Context, command: Command) -> Completion:
    """URLFETCH url ...: one untagged URLFETCH per URL, its data or NIL."""
    args = args_of(command, UrlFetchArgs)
    total = 0
    for item in args.urls:
        content = await _authorized(ctx, item.url)
        line = _answer(item, content)
        total += len(line)
        if total > MAX_FETCH_BYTES:
            raise CommandFailed("URLFETCH data too large", Code.LIMIT)
        await ctx.out.send(line)
    return Completion("URLFETCH completed")


def _answer(item: UrlFetch, content: UrlContent | None) -> bytes:
    if content is None:
        return untagged("URLFETCH", astring(item.url), b"NIL")
    if item.params is None:
        return untagged("URLFETCH", astring(item.url), literal(content.body()))
    return untagged("URLFETCH", astring(item.url), *_extended(content, item.params))


COMMANDS: dict[str, CommandSpec] = {
    "GENURLAUTH": CommandSpec(genurlauth, AUTHENTICATED),
    "RESETKEY": CommandSpec(resetkey, AUTHENTICATED),
    "URLFETCH": CommandSpec(urlfetch, AUTHENTICATED),
}
