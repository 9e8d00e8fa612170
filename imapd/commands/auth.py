"""LOGIN: check the password (Argon2, in a thread) and open the user's mail."""

from __future__ import annotations

import logging

from imapd.commands.base import NOT_AUTHENTICATED, CommandSpec, Completion, Context, args_of
from imapd.parser import Command, LoginArgs
from imapd.protocol import CAPABILITIES, Code
from mailrs.errors import AuthFailed

log = logging.getLogger("imapd.auth")


async def login(ctx: Context, command: Command) -> Completion:
    """LOGIN user password."""
    args = args_of(command, LoginArgs)
    try:
        address = await ctx.backend.authenticate(args.username, args.password)
    except AuthFailed:
        log.info("login failed for %r from %s", args.username[:254], ctx.peer)
        raise
    log.info("login %s from %s", address, ctx.peer)
    ctx.mail = ctx.backend.open_user(address)
    ctx.session.login(address)
    return Completion("Logged in", Code.CAPABILITY, " ".join(CAPABILITIES))


COMMANDS: dict[str, CommandSpec] = {
    "LOGIN": CommandSpec(login, NOT_AUTHENTICATED),
}
