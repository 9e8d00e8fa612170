"""The command table (which handler, in which states) and the dispatcher around it.

``execute`` is the one error boundary for commands: whatever a handler raises is
turned into a tagged BAD or NO by ``imapd.errors.reply_for``. After a command in the
selected state it reports what other sessions changed, holding back expunges during
FETCH, STORE and SEARCH as RFC 3501 section 7.4.1 asks.
"""

from __future__ import annotations

import time

from prometheus_client import Counter, Histogram

from imapd.commands import (
    append,
    auth,
    compression,
    context,
    fetch,
    idle,
    listext,
    mailbox,
    misc,
    notify,
    search,
    selected,
    sort,
    store,
    urlauth,
)
from imapd.commands.base import CommandSpec, Context
from imapd.commands.mailbox import report_changes
from imapd.errors import BadCommand, reply_for
from imapd.parsed import Command
from imapd.protocol import Status
from imapd.responses import status_line
from imapd.session import State
from mailrs.metrics.instruments import instruments

COMMANDS: dict[str, CommandSpec] = {
    **auth.COMMANDS,
    **mailbox.COMMANDS,
    **append.COMMANDS,
    **listext.COMMANDS,
    **fetch.COMMANDS,
    **store.COMMANDS,
    **search.COMMANDS,
    **sort.COMMANDS,
    **selected.COMMANDS,
    **idle.COMMANDS,
    **misc.COMMANDS,
    **compression.COMMANDS,
    **context.COMMANDS,
    **notify.COMMANDS,
    **urlauth.COMMANDS,
}
# Commands after which no untagged updates are added (they report, or leave, themselves).
_NO_REPORT = {"SELECT", "EXAMINE", "NOOP", "CHECK", "IDLE", "LOGOUT", "CLOSE", "UNSELECT"}
_NO_EXPUNGE = {"FETCH", "STORE", "SEARCH", "SORT", "THREAD"}
# Commands that look at message state: fold in other sessions' changes first (no expunges);
# what changes while a FETCH, STORE or SEARCH runs is reported by the next command.
_REFRESH_FIRST = {"FETCH", "STORE", "SEARCH", "SORT", "THREAD", "COPY", "MOVE"}


def _wrong_state(state: State, allowed: frozenset[State]) -> BadCommand:
    if state is State.NOT_AUTHENTICATED:
        return BadCommand("Log in first")
    if State.NOT_AUTHENTICATED in allowed:
        return BadCommand("Already logged in")
    return BadCommand("No mailbox selected")


# (command, status) -> the labelled timer and counter: looking the labels up again took
# about as long as counting, on every command
_COUNTED: dict[tuple[str, str], tuple[Histogram, Counter]] = {}


def _instruments_of(name: str, status: str) -> tuple[Histogram, Counter]:
    found = _COUNTED.get((name, status))
    if found is None:
        metrics = instruments()
        found = _COUNTED[(name, status)] = (
            metrics.imapd_command_seconds.labels(name),
            metrics.imapd_commands.labels(name, status),
        )
    return found


async def execute(ctx: Context, command: Command) -> bytes:
    """Run one command and return its tagged completion line (counted and timed)."""
    started = time.monotonic()
    line = await _execute(ctx, command)
    name = command.key if command.key in COMMANDS else "UNKNOWN"
    status = line.split(b" ", 2)[1].decode("ascii", "replace") if line.count(b" ") >= 1 else "?"
    if len(status) > 3:
        status = "?"  # OK, NO or BAD: a client's odd tag never makes a new label
    timer, counter = _instruments_of(name, status)
    timer.observe(time.monotonic() - started)
    counter.inc()
    return line


async def _execute(ctx: Context, command: Command) -> bytes:
    """Run one command and return its tagged completion line."""
    try:
        spec = COMMANDS.get(command.key)
        if spec is None:
            raise BadCommand(f"unknown command {command.key}")
        if ctx.session.state not in spec.states:
            raise _wrong_state(ctx.session.state, spec.states)
        if ctx.session.state is State.SELECTED and command.name in _REFRESH_FIRST:
            await report_changes(ctx, allow_expunge=False)  # never renumber under a command
        done = await spec.handler(ctx, command)
        selected = ctx.session.state is State.SELECTED
        if selected and command.name not in _NO_REPORT and command.name not in _NO_EXPUNGE:
            await report_changes(ctx)
        if selected:
            await context.search_updates(ctx)  # CONTEXT=SEARCH: what changed in live results
    except ConnectionError:
        raise  # the client is gone: nothing to answer
    except Exception as exc:  # the error boundary: every failure becomes BAD or NO
        reply = reply_for(exc)
        return status_line(
            command.tag, reply.status, reply.text, reply.code, getattr(exc, "code_data", "")
        )
    return status_line(command.tag, Status.OK, done.text, done.code, done.code_data)
