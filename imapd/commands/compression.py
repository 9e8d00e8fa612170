"""COMPRESS DEFLATE (RFC 4978): the command; the connection switches after its OK."""

from __future__ import annotations

from imapd.commands.base import AUTHENTICATED, CommandSpec, Completion, Context, args_of
from imapd.errors import BadCommand, CommandFailed
from imapd.parsed import AtomsArgs, Command
from imapd.protocol import Code


async def compress(ctx: Context, command: Command) -> Completion:
    """COMPRESS DEFLATE: the connection compresses both ways after this OK."""
    mechanism = args_of(command, AtomsArgs).names[0]
    if mechanism != "DEFLATE":
        raise BadCommand(f"unknown compression mechanism {mechanism[:40]}")
    if ctx.compressed:
        raise CommandFailed("DEFLATE is already active", Code.COMPRESSIONACTIVE)
    return Completion("DEFLATE active")


COMMANDS: dict[str, CommandSpec] = {
    "COMPRESS": CommandSpec(compress, AUTHENTICATED),
}
