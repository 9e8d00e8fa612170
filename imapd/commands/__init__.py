"""The command table (which handler, in which states) and the dispatcher around it.

``execute`` is the one error boundary for commands: whatever a handler raises is
turned into a tagged BAD or NO by ``imapd.errors.reply_for``.
"""

from __future__ import annotations

from imapd.commands import auth, fetch, mailbox, misc
from imapd.commands.base import CommandSpec, Context
from imapd.errors import BadCommand, reply_for
from imapd.parser import Command
from imapd.protocol import Status
from imapd.responses import status_line
from imapd.session import State

COMMANDS: dict[str, CommandSpec] = {
    **auth.COMMANDS,
    **mailbox.COMMANDS,
    **fetch.COMMANDS,
    **misc.COMMANDS,
}


def _wrong_state(state: State, allowed: frozenset[State]) -> BadCommand:
    if state is State.NOT_AUTHENTICATED:
        return BadCommand("Log in first")
    if State.NOT_AUTHENTICATED in allowed:
        return BadCommand("Already logged in")
    return BadCommand("No mailbox selected")


async def execute(ctx: Context, command: Command) -> bytes:
    """Run one command and return its tagged completion line."""
    try:
        spec = COMMANDS.get(command.key)
        if spec is None:
            raise BadCommand(f"unknown command {command.key}")
        if ctx.session.state not in spec.states:
            raise _wrong_state(ctx.session.state, spec.states)
        done = await spec.handler(ctx, command)
    except ConnectionError:
        raise  # the client is gone: nothing to answer
    except Exception as exc:  # the error boundary: every failure becomes BAD or NO
        reply = reply_for(exc)
        return status_line(command.tag, reply.status, reply.text, reply.code)
    return status_line(command.tag, Status.OK, done.text, done.code, done.code_data)
