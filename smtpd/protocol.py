"""aiosmtpd's SMTP protocol, extended where it falls short of what an MX must do.

aiosmtpd keeps the state machine, STARTTLS (which discards plaintext pipelined after the
command, RFC 3207 §4.2) and the AUTH mechanisms. This subclass adds, through its hooks:
enhanced status codes on every reply, refusal of NUL/control bytes and invalid UTF-8 in
commands, connection limits, an idle DATA timeout beside the command timeout (both
answered with 421 before closing), implicit TLS, no second STARTTLS, the password
check run off the event loop (aiosmtpd's ``authenticator`` hook is synchronous), and
what a graceful stop needs to know of a session (``smtpd.shutdown``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from dataclasses import dataclass
from typing import Any, AnyStr, Self

from aiosmtpd.smtp import MISSING, SMTP, AuthResult, Envelope, LoginPassword

from mailrs.metrics.instruments import instruments
from mailrs.queue.envelope_params import (
    MailParams,
    ParamError,
    RcptParams,
    parse_mail_params,
    parse_rcpt_params,
)
from smtpd import replies
from smtpd.connections import ConnectionLimiter
from smtpd.data_reader import FAULT_REPLIES, DataAssembler, Outcome, read_data
from smtpd.paths import plain_path
from smtpd.prototype import Command, checked_commands, clone_session
from smtpd.recipients import clean_text
from smtpd.shutdown import Sessions

log = logging.getLogger("smtpd")


def refuse_bad_bytes(method: Command) -> Command:
    """Wrap a command so arguments with NUL, control bytes or bad UTF-8 get 501."""

    @functools.wraps(method)
    async def run(self: Any, arg: str | None) -> None:
        if arg is not None and not clean_text(arg):
            await self.push(replies.BAD_BYTES)
            return
        await method(self, arg)

    return run


class MailEnvelope(Envelope):
    """aiosmtpd's envelope with the DSN and REQUIRETLS parameters (RFC 3461, RFC 8689)."""

    def __init__(self) -> None:
        super().__init__()
        self.params = MailParams()
        self.rcpt_params: dict[str, RcptParams] = {}  # by lower-cased recipient
        self.any_size = False  # an accepted recipient takes any size: no quota check at DATA


@dataclass(frozen=True)
class Listener:
    """What kind of port a session arrived on."""

    name: str  # "mx", "submission" or "submissions"
    implicit_tls: bool = False
    require_auth: bool = False
    require_starttls: bool = False


class MailSMTP(SMTP):
    """One SMTP session on one of our listeners."""

    AuthLoginUsernameChallenge = "Username:"
    AuthLoginPasswordChallenge = "Password:"

    def __init__(
        self,
        handler: Any,
        *,
        listener: Listener,
        connections: ConnectionLimiter,
        registry: Sessions,
        data_timeout: float,
        enable_auth: bool,
        data_deadline: float = 900.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(handler, **kwargs)
        self.listener = listener
        self.enable_auth = enable_auth
        self._connections = connections
        self._registry = registry
        self._data_timeout = data_timeout
        self._data_deadline = data_deadline  # the whole DATA phase, however busy
        self._fresh_state()

    def _fresh_state(self) -> None:
        """The per-connection state of a new session, and its command table."""
        self._data_started = 0.0
        self._ip = ""
        self._counted = False
        self._refused = False
        self._plain = False
        self._greeted = False
        self._in_data = False
        self._committing = False
        self._cut = False  # told 421: whatever DATA is still buffered is never stored
        self._draining = False
        self._last_data = 0.0
        self.last_reply = ""
        self._bdat = bytearray()  # BDAT chunks so far, for the envelope they belong to
        self._bdat_envelope: Envelope | None = None
        self._smtp_methods = checked_commands(self, refuse_bad_bytes)

    def clone(self) -> Self:
        """A new session object configured as this one, for the next connection
        (``smtpd.prototype``: aiosmtpd's constructor costs ~0.5 ms per connection)."""
        return clone_session(self)

    # -- connection life ------------------------------------------------------------

    def _count_connection(self, result: str) -> None:
        instruments().smtpd_connections.labels(self.listener.name, result).inc()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Enforce connection limits; note implicit TLS; let aiosmtpd do the rest."""
        first = self._original_transport is None and self.transport is None
        if first:
            peer = transport.get_extra_info("peername")
            self._ip = str(peer[0]) if peer else ""
            if self._registry.draining:  # accepted just before the listener closed
                self._count_connection("refused")
                self._refused = True
                with contextlib.suppress(Exception):
                    transport.write(replies.SHUTTING_DOWN.encode() + b"\r\n")  # type: ignore[attr-defined]
                transport.close()
                return
            if not self._connections.acquire(self._ip):
                self._count_connection("refused")
                self._refused = True
                log.warning("connection refused client=%s: too many connections", self._ip)
                with contextlib.suppress(Exception):
                    reply = replies.TOO_MANY_CONNECTIONS.format(host=self.hostname)
                    transport.write(reply.encode() + b"\r\n")  # type: ignore[attr-defined]
                transport.close()
                return
            self._counted = True
            self._count_connection("accepted")
            self._registry.add(self)
        super().connection_made(transport)
        ssl_object = transport.get_extra_info("ssl_object")
        if first and ssl_object is not None and self.session is not None:
            self.session.ssl = {"ssl_object": ssl_object, "cipher": ssl_object.cipher()}

    def connection_lost(self, error: Exception | None) -> None:
        """Release the connection's slot; log a transaction the client abandoned."""
        if self._refused:
            return
        if self._counted:
            self._counted = False
            self._connections.release(self._ip)
            self._registry.discard(self)
            envelope = self.envelope
            if envelope is not None and envelope.mail_from and self.session is not None:
                self.event_handler.log_transaction(
                    self.session, envelope, None, 0, "aborted: connection closed"
                )
        super().connection_lost(error)

    # -- graceful stop (smtpd.shutdown) ------------------------------------------------

    @property
    def in_data(self) -> bool:
        """True from the DATA command until its reply has been sent."""
        return self._in_data

    @property
    def committing(self) -> bool:
        """True while this session's message goes through the durable hand-off."""
        return self._committing

    def begin_shutdown(self) -> None:
        """421 and close now, unless a DATA is under way: then after its own reply."""
        self._draining = True
        if not self._in_data:
            self.cut_off()

    def cut_off(self) -> None:
        """Answer 421 4.3.2 and close the connection (never during a commit)."""
        self._cut = True
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        with contextlib.suppress(Exception):
            transport.write(replies.SHUTTING_DOWN.encode() + b"\r\n")  # type: ignore[attr-defined]
        transport.close()

    async def _call_handler_hook(self, command: str, *args: Any) -> Any:
        """Mark the DATA hook (the durable hand-off) as a commit a stop must wait for."""
        if command != "DATA":
            return await super()._call_handler_hook(command, *args)
        if self._cut:  # the client heard 421: a message read from the buffer since is dropped
            return replies.SHUTTING_DOWN
        self._committing = True
        try:
            return await super()._call_handler_hook(command, *args)
        finally:
            self._committing = False

    def data_received(self, data: bytes) -> None:
        """Note activity during DATA (the DATA timeout is an idle timeout)."""
        if self._in_data:
            self._last_data = self.loop.time()
        super().data_received(data)

    def _timeout_cb(self) -> None:
        """Close an idle session with 421 4.4.2; during DATA, when DATA is idle or too long.

        A client trickling a byte now and then never looks idle, so DATA also has an
        overall deadline (``smtp.data_deadline_secs``).
        """
        if self._in_data:
            now = self.loop.time()
            idle = now - self._last_data
            left = self._data_deadline - (now - self._data_started)
            if idle < self._data_timeout and left > 0:
                self._reset_timeout(min(self._data_timeout - idle, left))
                return
            if left <= 0:
                log.warning("DATA deadline passed client=%s", self._ip)
        transport = self.transport
        if transport is not None and not transport.is_closing():
            with contextlib.suppress(Exception):
                reply = replies.TIMEOUT.format(host=self.hostname)
                transport.write(reply.encode() + b"\r\n")  # type: ignore[attr-defined]
        super()._timeout_cb()

    # -- replies and command checks ----------------------------------------------------

    async def push(self, status: AnyStr) -> None:
        """Send a reply, with an enhanced status code (EHLO/HELO greeting lines excepted)."""
        if isinstance(status, str):
            # RFC 2034: no enhanced code in the greeting or the HELO/EHLO 250 lines.
            plain = not self._greeted or (self._plain and status.startswith("250"))
            self._greeted = True
            if not plain:
                status = replies.enhance(status)  # type: ignore[assignment]
            self.last_reply = str(status)
        await super().push(status)

    async def smtp_HELO(self, hostname: str) -> None:
        """HELO; its 250 reply is the plain greeting."""
        self._plain = True
        try:
            await super().smtp_HELO(hostname)
        finally:
            self._plain = False

    async def smtp_EHLO(self, hostname: str) -> None:
        """EHLO; its 250 lines are the extension list, without enhanced codes."""
        self._plain = True
        try:
            await super().smtp_EHLO(hostname)
        finally:
            self._plain = False

    async def smtp_STARTTLS(self, arg: str) -> None:
        """STARTTLS, but never a second time or on an implicit-TLS port."""
        if self.session is not None and self.session.ssl is not None:
            await self.push(replies.TLS_ACTIVE)
            return
        await super().smtp_STARTTLS(arg)

    async def smtp_DATA(self, arg: str) -> None:
        """DATA under the DATA timeout; failures aiosmtpd answers itself are logged too."""
        envelope: Envelope | None = self.envelope
        self._in_data = True
        self._last_data = self._data_started = self.loop.time()
        self._reset_timeout(min(self._data_timeout, self._data_deadline))
        try:
            plain = not self._decode_data and "DATA" in self._handle_hooks  # the usual case
            await (self._receive_data(arg) if plain else super().smtp_DATA(arg))
        finally:
            self._in_data = False
            if self._draining:  # its reply is out: now the goodbye
                self.cut_off()
            elif self.transport is not None:
                self._reset_timeout()
        if (
            envelope is not None
            and envelope.rcpt_tos
            and envelope.original_content is None
            and self.last_reply[:1] in ("4", "5")
            and self.session is not None
        ):
            self.event_handler.log_transaction(
                self.session, envelope, None, 0, f"rejected: {self.last_reply}"
            )

    async def _receive_data(self, arg: str) -> None:
        """aiosmtpd's DATA, replies and all, with the lines read in bulk (``smtpd.data_reader``)."""
        if await self.check_helo_needed() or await self.check_auth_needed("DATA"):
            return
        assert self.envelope is not None
        if not self.envelope.rcpt_tos or arg:
            rcpt = bool(self.envelope.rcpt_tos)
            await self.push("501 Syntax: DATA" if rcpt else "503 Error: need RCPT command")
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        assembler = DataAssembler(self.data_size_limit, self.line_length_limit)
        try:
            ended = await read_data(self._reader, assembler)
        except asyncio.CancelledError:  # the connection was lost during DATA
            log.info("connection lost during DATA client=%s", self._ip)
            self._writer.close()
            raise
        if not ended:
            return
        if assembler.outcome is not Outcome.NOMINAL:
            await self.push(FAULT_REPLIES[assembler.outcome])
            self._set_post_data_state()
            return
        self.envelope.content = self.envelope.original_content = assembler.content()
        status = await self._call_handler_hook("DATA")
        self._set_post_data_state()
        await self.push("250 OK" if status is MISSING else status)

    async def _read_chunk(self, size: int, room: int) -> bytes | None:
        """Read a BDAT chunk of ``size`` octets under the DATA timeout; keep at most ``room``
        of them (the rest is read and dropped). None when the connection closed."""
        kept = bytearray()
        self._in_data = True
        self._last_data = self._data_started = self.loop.time()
        self._reset_timeout(min(self._data_timeout, self._data_deadline))
        try:
            left = size
            while left > 0:
                piece = await self._reader.read(min(left, 65536))
                if not piece:
                    return None
                left -= len(piece)
                if len(kept) < room:
                    kept += piece[: room - len(kept)]
        finally:
            self._in_data = False
            if self.transport is not None and not self._draining:
                self._reset_timeout()
        return bytes(kept)

    async def smtp_BDAT(self, arg: str) -> None:
        """BDAT (RFC 3030 CHUNKING): chunks gathered under DATA's size limit and timeouts;
        the LAST one hands the message to the same durable DATA hook."""
        words = (arg or "").split()
        if not (1 <= len(words) <= 2 and words[0].isdigit()) or (
            len(words) == 2 and words[1].upper() != "LAST"
        ):
            await self.push("501 5.5.4 Syntax: BDAT <size> [LAST]")
            return
        size, last = int(words[0]), len(words) == 2
        envelope = self.envelope
        limit = self.data_size_limit or 0
        ready = envelope is not None and bool(envelope.rcpt_tos) and bool(self.session)
        had = len(self._bdat) if ready and self._bdat_envelope is envelope else 0
        room = max(0, limit - had) + 1 if limit else size
        chunk = await self._read_chunk(size, room if ready else 0)
        if chunk is None:
            return
        if await self.check_helo_needed() or await self.check_auth_needed("BDAT"):
            return
        if not ready or envelope is None:
            await self.push("503 5.5.1 Error: need MAIL and RCPT before BDAT")
            return
        if self._bdat_envelope is not envelope:
            self._bdat_envelope, self._bdat = envelope, bytearray()
        self._bdat += chunk
        if limit and len(self._bdat) > limit:
            self._bdat = bytearray()
            self._set_post_data_state()  # the transaction is over: MAIL again
            await self.push("552 5.3.4 Error: Too much mail data")
            return
        if not last:
            await self.push(f"250 2.0.0 {size} octets received")
            return
        data, self._bdat = bytes(self._bdat), bytearray()
        envelope.content = envelope.original_content = data
        self._in_data = True  # a graceful stop waits for this reply, as for DATA
        try:
            status = await self._call_handler_hook("DATA")
        finally:
            self._in_data = False
        self._set_post_data_state()
        await self.push("250 OK" if status is None else status)
        if self._draining:
            self.cut_off()

    # -- DSN and REQUIRETLS parameters (aiosmtpd upper-cases and refuses them) ---------

    def _create_envelope(self) -> MailEnvelope:
        return MailEnvelope()

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        """aiosmtpd's path split; a plain ``<local@domain>`` without the parser (smtpd.paths)."""
        plain = plain_path(arg) if arg else None
        if plain is None:
            return super()._getaddr(arg)
        address, rest = plain
        if self.local_part_limit and len(address.rpartition("@")[0]) > self.local_part_limit:
            return None, None
        return address, rest

    def _split_params(self, keyword: str, arg: str | None) -> tuple[str, list[str]] | None:
        """``(command up to the address, parameter words)``, or None if aiosmtpd should judge."""
        stripped = self._strip_command_keyword(keyword, arg or "")
        if stripped is None or self.session is None or not self.session.extended_smtp:
            return None
        address, params = self._getaddr(stripped)
        if address is None or not params or not (arg or "").endswith(params):
            return None
        return (arg or "")[: len(arg or "") - len(params)].rstrip(), params.split()

    async def smtp_MAIL(self, arg: str | None) -> None:
        """MAIL with RET, ENVID and REQUIRETLS taken out (case kept) before aiosmtpd parses it."""
        split = self._split_params("FROM:", arg)
        envelope = self.envelope
        if split is None or not isinstance(envelope, MailEnvelope) or envelope.mail_from:
            await super().smtp_MAIL(arg)
            return
        head, words = split
        try:
            params, rest = parse_mail_params(words)
        except ParamError as exc:
            await self.push(exc.reply)
            return
        if params.require_tls and (self.session is None or self.session.ssl is None):
            await self.push(replies.REQUIRETLS_NEEDS_TLS)
            return
        await super().smtp_MAIL(" ".join([head, *rest]))
        if envelope.mail_from:
            envelope.params = params

    async def smtp_RCPT(self, arg: str | None) -> None:
        """RCPT with NOTIFY and ORCPT taken out (case kept) before aiosmtpd parses it."""
        split = self._split_params("TO:", arg)
        envelope = self.envelope
        if split is None or not isinstance(envelope, MailEnvelope) or not envelope.mail_from:
            await super().smtp_RCPT(arg)
            return
        head, words = split
        try:
            params, rest = parse_rcpt_params(words)
        except ParamError as exc:
            await self.push(exc.reply)
            return
        before = len(envelope.rcpt_tos)
        await super().smtp_RCPT(" ".join([head, *rest]))
        if len(envelope.rcpt_tos) > before:
            envelope.rcpt_params[envelope.rcpt_tos[-1].lower()] = params

    async def smtp_RSET(self, arg: str) -> None:
        """RSET; an abandoned transaction is logged."""
        envelope = self.envelope
        if not arg and envelope is not None and envelope.mail_from and self.session is not None:
            self.event_handler.log_transaction(self.session, envelope, None, 0, "aborted: RSET")
        await super().smtp_RSET(arg)

    # -- AUTH ------------------------------------------------------------------------

    async def smtp_AUTH(self, arg: str) -> None:
        """AUTH, when enabled, and never in the middle of a mail transaction."""
        if not self.enable_auth:
            await self.push(replies.AUTH_UNAVAILABLE)
            return
        if self.envelope is not None and self.envelope.mail_from:
            await self.push("503 5.5.1 AUTH is not allowed during a mail transaction")
            return
        await super().smtp_AUTH(arg)

    def _authenticate(self, mechanism: str, auth_data: Any) -> AuthResult:
        """Defer the check: aiosmtpd calls this synchronously, Argon2 must not block."""
        return AuthResult(success=False, handled=False, auth_data=auth_data)

    async def _check_credentials(self, result: AuthResult) -> AuthResult:
        credentials = result.auth_data
        if result.success or result.handled or not isinstance(credentials, LoginPassword):
            return result
        checked: AuthResult = await self.event_handler.authenticator.check(self._ip, credentials)
        return checked

    async def auth_PLAIN(self, _: Any, args: list[str]) -> AuthResult:
        """AUTH PLAIN (RFC 4616), decoded by aiosmtpd, checked in a thread."""
        return await self._check_credentials(await super().auth_PLAIN(_, args))

    async def auth_LOGIN(self, _: Any, args: list[str]) -> AuthResult:
        """AUTH LOGIN, decoded by aiosmtpd, checked in a thread."""
        return await self._check_credentials(await super().auth_LOGIN(_, args))
