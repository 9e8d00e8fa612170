"""Commands valid in any state: CAPABILITY, NOOP and LOGOUT."""

from __future__ import annotations

from imapd.commands.base import ANY_STATE, CommandSpec, Completion, Context
from imapd.commands.mailbox import report_changes
from imapd.parser import Command
from imapd.protocol import CAPABILITIES, Status
from imapd.responses import status_line, untagged


async def capability(ctx: Context, command: Command) -> Completion:
    """CAPABILITY: list what the server supports."""
    await ctx.out.send(untagged("CAPABILITY", *CAPABILITIES))
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


COMMANDS: dict[str, CommandSpec] = {
    "CAPABILITY": CommandSpec(capability, ANY_STATE),
    "NOOP": CommandSpec(noop, ANY_STATE),
    "LOGOUT": CommandSpec(logout, ANY_STATE),
}
