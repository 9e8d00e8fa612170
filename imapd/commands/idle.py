"""IDLE (RFC 2177): wait for DONE while reporting mailbox changes as they happen.

Two wake-up sources: typed mailbox events (``mailrs.store.events``, published by the
mailbox service for the pipeline, the web, the assistant and other IMAP sessions)
followed by a dedicated thread, and a cheap periodic look at the folder (two directory
stats when nothing changed) in case an event was missed. An event only wakes the
session; what changed is read from the index, so a change made from the web is
reported exactly as one made by another IMAP session.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading

from imapd.commands.base import AUTHENTICATED, CommandSpec, Completion, Context
from imapd.commands.mailbox import report_changes
from imapd.errors import BadCommand
from imapd.parsed import Command
from imapd.responses import continuation
from mailrs.config import Settings
from mailrs.store.events import subscribe

log = logging.getLogger("imapd.idle")
EVENT_WAIT_SECS = 0.25


def _follow_events(
    settings: Settings,
    user: str,
    stop: threading.Event,
    loop: asyncio.AbstractEventLoop,
    wake: asyncio.Event,
) -> None:
    """Thread body: set ``wake`` on the event loop for every event of ``user``."""
    try:
        with subscribe(settings, user) as subscription:
            while not stop.is_set():
                event = subscription.get_event(EVENT_WAIT_SECS)
                if event is not None and not stop.is_set():
                    loop.call_soon_threadsafe(wake.set)
    except Exception:
        log.warning("event subscription for %s failed; polling only", user, exc_info=True)


async def idle(ctx: Context, command: Command) -> Completion:
    """IDLE ... DONE."""
    channel = ctx.channel
    if channel is None:
        raise BadCommand("IDLE is not available here")
    await ctx.out.send(continuation("idling"))
    wake = asyncio.Event()
    stop = threading.Event()
    settings = ctx.backend.settings
    thread = None
    if settings is not None and ctx.session.address is not None:
        thread = threading.Thread(
            target=_follow_events,
            args=(settings, ctx.session.address, stop, asyncio.get_running_loop(), wake),
            name="imapd-idle-events",
            daemon=True,
        )
        thread.start()
    reader = asyncio.create_task(channel.read_line(ctx.policy.max_idle_secs))
    try:
        while True:
            if ctx.session.selected is not None:
                await report_changes(ctx)
            waker = asyncio.create_task(wake.wait())
            done, _ = await asyncio.wait(
                {reader, waker},
                timeout=ctx.policy.idle_poll_secs,
                return_when=asyncio.FIRST_COMPLETED,
            )
            waker.cancel()
            wake.clear()
            if reader in done:
                break
        line = reader.result()
    finally:
        stop.set()
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
