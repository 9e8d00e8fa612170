"""The aiosmtpd handler: sender and recipient policy, limits, and the durable hand-off.

The protocol is aiosmtpd's (see ``smtpd.protocol``); this object only decides. Blocking
work (database, Argon2, fsync, broker, Redis-backed rate limits) runs in threads so the
event loop keeps serving other sessions.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session, TLSSetupException
from celery import Celery

from mailrs.accounts.resolve import resolve_recipient
from mailrs.accounts.throttle import LoginThrottle
from mailrs.accounts.users import is_local_domain
from mailrs.addresses import parse_address
from mailrs.config import Settings
from mailrs.db.engine import Database
from mailrs.errors import InvalidAddress, SpoolError
from mailrs.metrics.instruments import instruments
from mailrs.queue.accept import Envelope as AcceptedEnvelope
from mailrs.queue.envelope_params import MailParams, RcptParams
from mailrs.queue.spool import Spool
from mailrs.queue.submission import complete_headers, sender_allowed
from mailrs.queue.trace import protocol_name
from mailrs.store.maildir import MaildirStore
from smtpd import replies
from smtpd.auth import SmtpAuthenticator
from smtpd.backlog import Backlog
from smtpd.handoff import Handoff
from smtpd.protocol import MailEnvelope
from smtpd.quotas import fits_someone, resolution_quota
from smtpd.rates import MessageRates
from smtpd.recipient_cache import RecipientCache
from smtpd.recipients import (
    RecipientFacts,
    RecipientStatus,
    helo_acceptable,
    normalize_sender,
    recipient_decision,
    sender_acceptable,
)

log = logging.getLogger("smtpd")
MAX_LINE = 998  # RFC 5321 4.5.3.1.6: 998 octets + CRLF
RECIPIENT_REPLIES = {
    RecipientStatus.ACCEPTED: replies.OK_RCPT,
    RecipientStatus.BAD_SYNTAX: replies.BAD_ADDRESS_SYNTAX,
    RecipientStatus.NO_SUCH_USER: replies.NO_SUCH_USER,
    RecipientStatus.RELAY_DENIED: replies.RELAY_DENIED,
    RecipientStatus.MAILBOX_FULL: replies.MAILBOX_FULL,
}
"""The reply to each recipient decision."""


def has_bare_line_ending(data: bytes) -> bool:
    """True when a CR or LF in ``data`` is not part of a CRLF pair (counted in C, no regex)."""
    pairs = data.count(b"\r\n")
    return data.count(b"\r") != pairs or data.count(b"\n") != pairs


def has_long_line(data: bytes) -> bool:
    """True when a CRLF-separated line of ``data`` is longer than 998 octets."""
    return len(data) > MAX_LINE and any(len(line) > MAX_LINE for line in data.split(b"\r\n"))


def tls_description(session: Session) -> str:
    """``"TLSv1.3 TLS_AES_256_GCM_SHA384 256"`` for a TLS session, '' otherwise."""
    info = session.ssl or {}
    ssl_object = info.get("ssl_object")
    if ssl_object is None:
        return ""
    cipher = ssl_object.cipher() or ("unknown", "", 0)
    return f"{ssl_object.version() or 'TLS'} {cipher[0]} {cipher[2]}"


def auth_user(session: Session) -> str | None:
    """The authenticated account of a session, or None."""
    return str(session.auth_data) if session.authenticated and session.auth_data else None


class MailHandler:
    """Policy shared by every listener: who may send to whom, and how a message is kept."""

    def __init__(self, settings: Settings, db: Database, spool: Spool, celery_app: Celery) -> None:
        self.settings = settings
        self.db = db
        self.spool = spool
        self.store = MaildirStore(settings.maildir_path)
        self.celery_app = celery_app
        self.authenticator = SmtpAuthenticator(db, LoginThrottle(settings))
        self.rates = MessageRates(settings)
        self.handoff = Handoff(db, spool, celery_app, settings.smtp.publish_wait_ms / 1000)
        self.backlog = Backlog(db, settings.smtp.max_pipeline_backlog)
        self.recipients = RecipientCache()

    async def handle_exception(self, error: Exception) -> str:
        """Any unexpected failure is temporary for the client and logged here, never leaked."""
        if isinstance(error, TLSSetupException):  # the client's handshake failed: no bug of ours
            cause = error.__cause__
            log.warning("TLS handshake failed: %s", cause or "connection closed")
            return replies.LOCAL_ERROR
        log.error("session error: %s: %s", type(error).__name__, error, exc_info=error)
        return replies.LOCAL_ERROR

    async def handle_HELO(
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str
    ) -> str:
        """Record a well-formed HELO name."""
        if not helo_acceptable(hostname):
            return replies.BAD_HELO
        session.host_name = hostname
        return f"250 {server.hostname}"

    async def handle_EHLO(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        """Record a well-formed EHLO name and advertise our extensions."""
        if not helo_acceptable(hostname):
            session.host_name = None
            return [replies.BAD_HELO]
        session.host_name = hostname
        offered = [
            line
            for line in responses[:-1]
            if self.settings.smtp.enable_auth or not line.startswith("250-AUTH")
        ]
        extra = ["250-PIPELINING", "250-ENHANCEDSTATUSCODES", "250-CHUNKING", "250-DSN"]
        if session.ssl is not None:  # RFC 8689: only offered over TLS
            extra.append("250-REQUIRETLS")
        return [*offered, *extra, responses[-1]]

    async def handle_MAIL(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        mail_options: list[str],
    ) -> str:
        """Accept a sender path we can record, within the rate limits, owned if authenticated."""
        sender = normalize_sender(address)
        if not sender_acceptable(sender):
            return replies.BAD_SENDER_SYNTAX
        if not sender.isascii() and not envelope.smtp_utf8:
            return replies.NEEDS_SMTPUTF8
        if await self.backlog.full():
            return replies.PIPELINE_BUSY
        user = auth_user(session)
        if self.rates.enabled:
            allowed = await asyncio.to_thread(self.rates.allow, _client_ip(session), user)
            if not allowed:
                log.warning("rate limit client=%s user=%s", _client_ip(session), user or "-")
                return replies.RATE_LIMITED
        if user and sender:
            owned = await asyncio.to_thread(self._sender_owned, user, sender)
            if not owned:
                return replies.SENDER_NOT_OWNED
        envelope.mail_from = sender or "<>"  # aiosmtpd reads '' as "no MAIL yet"
        envelope.mail_options.extend(mail_options)
        return replies.OK_SENDER

    def _sender_owned(self, user: str, sender: str) -> bool:
        """Whether ``user`` may use ``sender`` under ``smtp.sender_policy`` (blocking)."""
        with self.db.session() as session:
            return sender_allowed(session, user, sender, self.settings.smtp.sender_policy)

    def recipient_facts(self, address: str, authenticated: bool) -> RecipientFacts:
        """Look up an address (blocking: run it in a thread)."""
        try:
            parsed = parse_address(address)
        except InvalidAddress:
            return RecipientFacts(False, False, False, authenticated)
        domains = self.settings.smtp.local_domains
        with self.db.session() as session:
            local_domain = is_local_domain(session, parsed.domain, domains)
            resolution = resolve_recipient(session, str(parsed), domains) if local_domain else None
            full, unlimited = (
                (False, not local_domain)  # relayed for an authenticated sender
                if resolution is None
                else resolution_quota(session, self.store, resolution)
            )
        return RecipientFacts(
            True, local_domain, resolution is not None, authenticated, full, unlimited
        )

    def message_fits(self, recipients: list[str], size: int) -> bool:
        """Whether a message of ``size`` bytes fits the quota of some recipient (blocking)."""
        domains = self.settings.smtp.local_domains
        resolutions = []
        with self.db.session() as session:
            for address in recipients:
                try:
                    resolution = resolve_recipient(session, address, domains)
                except InvalidAddress:
                    return True  # not ours to judge here: the pipeline decides
                if resolution is None or resolution.empty:
                    return True
                resolutions.append(resolution)
            return fits_someone(session, self.store, resolutions, size)

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        """Check one recipient at once: 250, 550 5.1.1, 550 5.7.1, 553 or 452 4.5.3."""
        if len(envelope.rcpt_tos) >= self.settings.smtp.max_recipients:
            _refused_recipient("too_many_recipients")
            return replies.TOO_MANY_RECIPIENTS
        if not address.isascii() and not envelope.smtp_utf8:
            return replies.NEEDS_SMTPUTF8
        authenticated = auth_user(session) is not None
        facts = await self.recipients.lookup(
            address,
            authenticated,
            lambda: asyncio.to_thread(self.recipient_facts, address, authenticated),
        )
        status = recipient_decision(facts)
        if status is not RecipientStatus.ACCEPTED:
            _refused_recipient(status.name.lower())
        # The same mailbox named twice (in any case) gets one copy.
        if status is RecipientStatus.ACCEPTED and address.lower() not in {
            rcpt.lower() for rcpt in envelope.rcpt_tos
        }:
            envelope.rcpt_tos.append(address)
            if facts.unlimited and isinstance(envelope, MailEnvelope):
                envelope.any_size = True  # DATA's quota check has nothing to refuse
        return RECIPIENT_REPLIES[status]

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        """Spool durably, then answer 250 with the queue id; publish in the background."""
        data = envelope.original_content or b""
        if has_bare_line_ending(data):
            self.log_transaction(session, envelope, None, len(data), "rejected: bare CR/LF")
            _message("refused", "bare_line_ending")
            return replies.BARE_LINE_ENDING
        if has_long_line(data):
            self.log_transaction(session, envelope, None, len(data), "rejected: line too long")
            _message("refused", "line_too_long")
            return replies.LINE_TOO_LONG
        any_size = isinstance(envelope, MailEnvelope) and envelope.any_size
        if not any_size and not await asyncio.to_thread(
            self.message_fits, list(envelope.rcpt_tos), len(data)
        ):
            self.log_transaction(session, envelope, None, len(data), "rejected: over quota")
            _message("refused", "over_quota")
            return replies.OVER_QUOTA
        user = auth_user(session)
        if user:
            data = complete_headers(data, self.settings.smtp.hostname)
        tls = tls_description(session)
        protocol = protocol_name(session.extended_smtp, envelope.smtp_utf8, bool(tls), bool(user))
        params = envelope.params if isinstance(envelope, MailEnvelope) else MailParams()
        per_rcpt = envelope.rcpt_params if isinstance(envelope, MailEnvelope) else {}
        rcpt_params = [per_rcpt.get(r.lower(), RcptParams()) for r in envelope.rcpt_tos]
        accepted = AcceptedEnvelope(
            mail_from=normalize_sender(envelope.mail_from),
            recipients=tuple(envelope.rcpt_tos),
            client_addr=_client_ip(session),
            helo=session.host_name or "",
            auth_user=user,
            received_by=self.settings.smtp.hostname,
            protocol=protocol,
            tls=tls,
            ret=params.ret,
            envid=params.envid,
            require_tls=params.require_tls,
            notify=tuple(p.notify for p in rcpt_params),
            orcpt=tuple(p.orcpt for p in rcpt_params),
        )
        if self.settings.spam.dmarc_enforce and not user:
            from mailrs.inbound.dmarc_enforce import dmarc_refusal  # DNS libraries: only if on

            refusal = await asyncio.to_thread(
                dmarc_refusal,
                self.settings,
                self.db,
                accepted.client_addr,
                accepted.helo,
                accepted.mail_from,
                user,
                data,
            )
            if refusal:
                self.log_transaction(session, envelope, None, len(data), "rejected: DMARC")
                return refusal
        try:
            queue_id = await self.handoff.accept(accepted, data)
        except SpoolError as exc:
            log.error("spool failure: %s", exc)
            self.log_transaction(session, envelope, None, len(data), "temporary failure: spool")
            _message("refused", "spool_error")
            return replies.LOCAL_ERROR
        self.backlog.accepted()
        self.log_transaction(session, envelope, queue_id, len(data), "queued")
        _message("accepted", "queued")
        return replies.QUEUED.format(queue_id=queue_id)

    def log_transaction(
        self, session: Session, envelope: Envelope, queue_id: str | None, size: int, result: str
    ) -> None:
        """One structured line per transaction, whatever its outcome."""
        log.info(
            "transaction queue_id=%s client=%s helo=%s tls=%s auth=%s from=<%s> to=%s"
            " size=%d result=%s",
            queue_id or "-",
            _client_ip(session) or "-",
            session.host_name or "-",
            (tls_description(session) or "no").replace(" ", "/"),
            auth_user(session) or "-",
            normalize_sender(envelope.mail_from),
            ",".join(f"<{r}>" for r in envelope.rcpt_tos) or "-",
            size,
            result,
        )

    async def drain(self, timeout: float = 5.0) -> None:
        """Wait for commits and publishes still under way (at shutdown)."""
        await self.handoff.drain(timeout)


def _refused_recipient(reason: str) -> None:
    instruments().smtpd_recipients_refused.labels(reason).inc()


def _message(result: str, reason: str) -> None:
    instruments().smtpd_messages.labels(result, reason).inc()


def _client_ip(session: Session) -> str:
    peer: Any = session.peer
    return str(peer[0]) if peer else ""
