"""STARTTLS, LOGIN and AUTHENTICATE PLAIN: TLS first (unless allowed), throttled password checks."""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import logging
from collections.abc import AsyncIterator

from imapd.commands.base import NOT_AUTHENTICATED, CommandSpec, Completion, Context, args_of
from imapd.errors import BadCommand, CommandFailed
from imapd.parsed import AuthenticateArgs, Command, LoginArgs
from imapd.protocol import Code
from imapd.responses import continuation
from mailrs.errors import AuthFailed
from mailrs.metrics.instruments import instruments

log = logging.getLogger("imapd.auth")
SASL_TIMEOUT_SECS = 60.0


class _OneAtATime:
    """Password checks for one account from one IP take turns (per process).

    Ten clients reconnecting at once with the right password would otherwise all be
    counted by the throttle before the first of them was verified, and pass its limit
    (NO [UNAVAILABLE]) or be slowed down as if they had failed; in turn, the first
    one's success fills the credential cache and the others log in from it.
    Parallel guesses gain nothing either: they queue."""

    def __init__(self) -> None:
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}
        self._waiting: dict[tuple[str, str], int] = {}

    @contextlib.asynccontextmanager
    async def turn(self, username: str, ip: str) -> AsyncIterator[None]:
        """Hold the turn of ``username`` from ``ip``."""
        key = (username.strip().lower()[:254], ip)
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._waiting[key] = self._waiting.get(key, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._waiting[key] -= 1
            if not self._waiting[key]:
                del self._waiting[key], self._locks[key]


_TURNS = _OneAtATime()


async def _check_password(ctx: Context, username: str, password: str) -> str:
    """The account address for a good password: a recently verified one at once, any
    other counted by the throttle before the check, one at a time per account and IP."""
    async with _TURNS.turn(username, ctx.peer_ip):
        address = await ctx.backend.recently_verified(username, password)
        if address is not None:
            instruments().imapd_logins.labels("ok").inc()
            return address
        return await _full_check(ctx, username, password)


async def _full_check(ctx: Context, username: str, password: str) -> str:
    throttle = ctx.policy.throttle
    decision = None
    if throttle is not None:
        decision = await asyncio.to_thread(throttle.begin, username, ctx.peer_ip)
        if decision.blocked:
            await asyncio.sleep(min(decision.delay, 5.0))
            instruments().imapd_logins.labels("throttled").inc()
            log.info("login for %r from %s refused: too many failures", username[:254], ctx.peer)
            raise CommandFailed("Too many failed logins, try again later", Code.UNAVAILABLE)
        if decision.delay > 0:
            await asyncio.sleep(decision.delay)
    try:
        address = await ctx.backend.authenticate(username, password)
    except AuthFailed:
        instruments().imapd_logins.labels("failed").inc()
        log.info("login failed for %r from %s", username[:254], ctx.peer)
        if throttle is not None and decision is not None:
            await asyncio.to_thread(throttle.failed, username, ctx.peer_ip, decision)
        raise
    if throttle is not None:
        await asyncio.to_thread(throttle.succeeded, username, ctx.peer_ip)
    instruments().imapd_logins.labels("ok").inc()
    return address


async def _enter(ctx: Context, address: str) -> Completion:
    if ctx.on_login is not None and not ctx.on_login(address):
        raise CommandFailed("Too many connections for this account", Code.LIMIT)
    log.info("login %s from %s", address, ctx.peer)
    ctx.mail = ctx.backend.open_user(address)
    ctx.session.login(address)
    return Completion("Logged in", Code.CAPABILITY, " ".join(ctx.capabilities()))


def _require_privacy(ctx: Context) -> None:
    if not ctx.login_allowed():
        raise CommandFailed("Use STARTTLS first", Code.PRIVACYREQUIRED)


async def login(ctx: Context, command: Command) -> Completion:
    """LOGIN user password."""
    args = args_of(command, LoginArgs)
    _require_privacy(ctx)
    return await _enter(ctx, await _check_password(ctx, args.username, args.password))


def _decode_plain(response: str) -> tuple[str, str]:
    try:
        raw = base64.b64decode(response, validate=True)
    except (binascii.Error, ValueError):
        raise BadCommand("Invalid base64 in the SASL response") from None
    parts = raw.split(b"\0")
    if len(parts) != 3:
        raise BadCommand("Malformed PLAIN response")
    try:
        authzid, authcid, password = (p.decode("utf-8") for p in parts)
    except UnicodeDecodeError:
        raise BadCommand("PLAIN response is not UTF-8") from None
    if authzid and authzid.lower() != authcid.lower():
        raise CommandFailed("Authorization identity not permitted", Code.AUTHENTICATIONFAILED)
    return authcid, password


async def authenticate(ctx: Context, command: Command) -> Completion:
    """AUTHENTICATE PLAIN [initial-response] (SASL-IR)."""
    args = args_of(command, AuthenticateArgs)
    if args.mechanism != "PLAIN":
        raise CommandFailed(f"Unsupported mechanism {args.mechanism[:20]}", Code.CANNOT)
    _require_privacy(ctx)
    response = args.initial
    if response is None:
        if ctx.channel is None:
            raise CommandFailed("Cannot continue", Code.CANNOT)
        await ctx.out.send(continuation(""))
        line = await ctx.channel.read_line(SASL_TIMEOUT_SECS)
        if line is None:
            raise ConnectionError("client went away during AUTHENTICATE")
        if line.strip() == b"*":
            raise BadCommand("Authentication cancelled")
        response = line.decode("ascii", "replace").strip()
    if response == "=":
        response = ""
    username, password = _decode_plain(response)
    return await _enter(ctx, await _check_password(ctx, username, password))


async def starttls(ctx: Context, command: Command) -> Completion:
    """STARTTLS: the OK goes out in clear, then the TLS handshake."""
    if ctx.policy.tls_context is None or ctx.channel is None:
        raise CommandFailed("TLS is not available", Code.CANNOT)
    if ctx.session.tls:
        raise BadCommand("TLS is already active")
    return Completion("Begin TLS negotiation now")


COMMANDS: dict[str, CommandSpec] = {
    "LOGIN": CommandSpec(login, NOT_AUTHENTICATED),
    "AUTHENTICATE": CommandSpec(authenticate, NOT_AUTHENTICATED),
    "STARTTLS": CommandSpec(starttls, NOT_AUTHENTICATED),
}
