"""Commands valid in any state (CAPABILITY, NOOP, LOGOUT, ID) and the small authenticated
ones: NAMESPACE, ENABLE, GETQUOTA and GETQUOTAROOT."""

from __future__ import annotations

from imapd.commands.base import ANY_STATE, AUTHENTICATED, CommandSpec, Completion, Context, args_of
from imapd.commands.mailbox import report_changes
from imapd.errors import CommandFailed
from imapd.parsed import AtomsArgs, Command, IdArgs, MailboxArgs
from imapd.protocol import Code, Status
from imapd.responses import astring, encode, status_line, untagged
from mailrs.store.names import DELIMITER

SERVER_ID = ("name", "mailrs", "vendor", "mailrs", "support-url", None)
QUOTA_ROOT = ""


async def capability(ctx: Context, command: Command) -> Completion:
    """CAPABILITY: list what the server supports."""
    await ctx.out.send(untagged("CAPABILITY", *ctx.capabilities()))
    return Completion("CAPABILITY completed")


async def noop(ctx: Context, command: Command) -> Completion:
    """NOOP: nothing, except reporting changes to the selected mailbox."""
    if ctx.session.selected is not None:
        await report_changes(ctx)
    return Completion("NOOP completed")


async def logout(ctx: Context, command: Command) -> Completion:
    """LOGOUT: say BYE; the connection closes after the tagged OK."""
    await ctx.out.send(status_line(None, Status.BYE, "mailrs IMAP server logging out"))
    ctx.session.logout()
    return Completion("LOGOUT completed")


async def ident(ctx: Context, command: Command) -> Completion:
    """ID (RFC 2971): log what the client says, answer with our name."""
    args = args_of(command, IdArgs)
    if args.fields:
        shown = ", ".join(f"{k}={v!r}" for k, v in args.fields[:8])
        import logging

        logging.getLogger("imapd").info("client %s id: %s", ctx.peer, shown[:500])
    await ctx.out.send(untagged("ID", encode(list(SERVER_ID[:4]))))
    return Completion("ID completed")


async def namespace(ctx: Context, command: Command) -> Completion:
    """NAMESPACE (RFC 2342): one personal namespace, no others."""
    await ctx.out.send(untagged("NAMESPACE", b'(("" "' + DELIMITER.encode() + b'")) NIL NIL'))
    return Completion("NAMESPACE completed")


async def enable(ctx: Context, command: Command) -> Completion:
    """ENABLE (RFC 5161): CONDSTORE, and QRESYNC (which implies CONDSTORE, RFC 7162)."""
    args = args_of(command, AtomsArgs)
    session = ctx.session
    enabled = []
    if "CONDSTORE" in args.names and not session.condstore:
        enabled.append("CONDSTORE")
    if "QRESYNC" in args.names and not session.qresync:
        session.qresync = True
        enabled.append("QRESYNC")
    if "IMAP4REV2" in args.names and not session.rev2:  # RFC 9051
        session.rev2 = session.utf8 = True
        enabled.append("IMAP4rev2")
    if "UTF8=ACCEPT" in args.names and not session.utf8:  # RFC 6855
        session.utf8 = True
        enabled.append("UTF8=ACCEPT")
    elif "UTF8=ACCEPT" in args.names and "IMAP4rev2" in enabled:
        enabled.append("UTF8=ACCEPT")
    if enabled:
        session.condstore = True
        if session.selected is not None:
            session.selected.condstore = True
            session.selected.qresync = session.qresync
    await ctx.out.send(untagged("ENABLED", *enabled))
    return Completion("ENABLE completed")


async def _quota_line(ctx: Context) -> bytes:
    mail = ctx.user_mail()
    limit = await ctx.backend.quota(mail.address)
    if limit is None:
        raise CommandFailed("No quota applies to this account", Code.NONEXISTENT)
    used = await mail.total_size()
    return untagged("QUOTA", encode(QUOTA_ROOT), f"(STORAGE {used // 1024} {limit // 1024})")


async def getquota(ctx: Context, command: Command) -> Completion:
    """GETQUOTA root (RFC 2087)."""
    root = args_of(command, MailboxArgs).mailbox
    if root != QUOTA_ROOT:
        raise CommandFailed("No such quota root", Code.NONEXISTENT)
    await ctx.out.send(await _quota_line(ctx))
    return Completion("GETQUOTA completed")


async def getquotaroot(ctx: Context, command: Command) -> Completion:
    """GETQUOTAROOT mailbox (RFC 2087)."""
    name = ctx.mailbox_name(args_of(command, MailboxArgs).mailbox)
    if not await ctx.user_mail().exists(name):
        raise CommandFailed("No such mailbox", Code.NONEXISTENT)
    limit = await ctx.backend.quota(ctx.user_mail().address)
    lines = [
        untagged(
            "QUOTAROOT",
            astring(ctx.wire_name(name), ctx.session.utf8),
            *([encode(QUOTA_ROOT)] if limit is not None else []),
        )
    ]
    if limit is not None:
        lines.append(await _quota_line(ctx))
    await ctx.out.send(b"".join(lines))
    return Completion("GETQUOTAROOT completed")


COMMANDS: dict[str, CommandSpec] = {
    "CAPABILITY": CommandSpec(capability, ANY_STATE),
    "NOOP": CommandSpec(noop, ANY_STATE),
    "LOGOUT": CommandSpec(logout, ANY_STATE),
    "ID": CommandSpec(ident, ANY_STATE),
    "NAMESPACE": CommandSpec(namespace, AUTHENTICATED),
    "ENABLE": CommandSpec(enable, AUTHENTICATED),
    "GETQUOTA": CommandSpec(getquota, AUTHENTICATED),
    "GETQUOTAROOT": CommandSpec(getquotaroot, AUTHENTICATED),
}
