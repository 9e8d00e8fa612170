"""IDLE (RFC 2177): wait for DONE while reporting mailbox changes as they happen.

Two wake-up sources: typed mailbox events (``mailrs.store.events``, published by the
mailbox service for the pipeline, the web, the assistant and other IMAP sessions),
which the process's one ``imapd.event_hub.EventHub`` turns into an ``asyncio.Event``
per waiting session (no thread per session), and a cheap periodic look at the folder
(two directory stats when nothing changed) in case an event was missed or a file was
dropped into the Maildir from outside. An event only wakes the session; what changed
is read from the index, so a change made from the web is reported exactly as one made
by another IMAP session.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from imapd.commands.base import AUTHENTICATED, CommandSpec, Completion, Context
from imapd.commands.context import search_updates
from imapd.commands.mailbox import report_changes
from imapd.commands.notify import notify_changes
from imapd.errors import BadCommand
from imapd.parsed import Command
from imapd.responses import continuation


@contextlib.asynccontextmanager
async def wake_source(ctx: Context) -> AsyncIterator[asyncio.Event]:
    hub = ctx.backend.events
    if hub is None or ctx.session.address is None:
        yield asyncio.Event()  # never set: polling only
        return
    async with hub.waiting(ctx.session.address) as wake:
        yield wake


def poll_secs(ctx: Context) -> float:
    """How often to look without an event: rarely while the event feed is up."""
    hub = ctx.backend.events
    if hub is not None and hub.healthy:
        return max(ctx.policy.idle_poll_secs, ctx.policy.idle_safety_poll_secs)
    return ctx.policy.idle_poll_secs


async def idle(ctx: Context, command: Command) -> Completion:
    """IDLE ... DONE."""
    channel = ctx.channel
    if channel is None:
        raise BadCommand("IDLE is not available here")
    async with wake_source(ctx) as wake:
        await ctx.out.send(continuation("idling"))
        reader = asyncio.create_task(channel.read_line(ctx.policy.max_idle_secs))
        try:
            while True:
                wake.clear()
                if ctx.session.notify is not None:
                    await notify_changes(ctx)  # NOTIFY: other mailboxes too
                if ctx.session.selected is not None:
                    await report_changes(ctx)
                    await search_updates(ctx)
                waker = asyncio.create_task(wake.wait())
                done, _ = await asyncio.wait(
                    {reader, waker}, timeout=poll_secs(ctx), return_when=asyncio.FIRST_COMPLETED
                )
                waker.cancel()
                if reader in done:
                    break
            line = reader.result()
        finally:
            if not reader.done():
                reader.cancel()
                with contextlib.suppress(BaseException):
                    await reader
    if line is None:
        raise ConnectionError("client went away during IDLE")
    if line.strip().upper() != b"DONE":
        raise BadCommand("Expected DONE to end IDLE")
    if ctx.session.selected is not None:
        await report_changes(ctx)
    return Completion("IDLE terminated")


COMMANDS: dict[str, CommandSpec] = {
    "IDLE": CommandSpec(idle, AUTHENTICATED),
}
