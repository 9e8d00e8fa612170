"""The aiosmtpd handler: RCPT checks and the durable hand-off of each message.

The protocol is aiosmtpd's; this object only decides. Blocking work (database, fsync,
broker) runs in threads so the event loop keeps serving other sessions.
"""

from __future__ import annotations

import asyncio
import logging
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session
from celery import Celery

from mailrs.accept import Envelope as AcceptedEnvelope
from mailrs.accept import accept_message, mark_published
from mailrs.addresses import parse_address
from mailrs.config import Settings
from mailrs.db import Database
from mailrs.errors import InvalidAddress, SpoolError
from mailrs.pipeline import publish
from mailrs.spool import Spool
from mailrs.users import find_user, is_local_domain
from smtpd import replies
from smtpd.recipients import (
    RecipientFacts,
    helo_acceptable,
    normalize_sender,
    recipient_decision,
    sender_acceptable,
)

log = logging.getLogger("smtpd")
_BARE_EOL = re.compile(rb"\r(?!\n)|(?<!\r)\n")


class MailHandler:
    """Policy for one listener: who may receive, and how a message is handed off."""

    def __init__(self, settings: Settings, db: Database, spool: Spool, celery_app: Celery) -> None:
        self.settings = settings
        self.db = db
        self.spool = spool
        self.celery_app = celery_app
        self._publisher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="publish")
        self._pending: set[asyncio.Future[Any]] = set()

    async def handle_exception(self, error: Exception) -> str:
        """Any unexpected failure is temporary for the client and logged here, never leaked."""
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
        extra = ["250-PIPELINING", "250-ENHANCEDSTATUSCODES"]
        return [*responses[:-1], *extra, responses[-1]]

    async def handle_MAIL(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        mail_options: list[str],
    ) -> str:
        """Accept a sender path we can record; with require_auth, only after AUTH."""
        if self.settings.smtp.require_auth and not getattr(session, "authenticated", False):
            return replies.AUTH_REQUIRED
        sender = normalize_sender(address)
        if not sender_acceptable(sender):
            return replies.BAD_SENDER_SYNTAX
        envelope.mail_from = sender or "<>"  # aiosmtpd reads '' as "no MAIL yet"
        envelope.mail_options.extend(mail_options)
        return replies.OK_SENDER

    def recipient_facts(self, address: str, authenticated: bool) -> RecipientFacts:
        """Look up an address (blocking: run it in a thread)."""
        try:
            parsed = parse_address(address)
        except InvalidAddress:
            return RecipientFacts(False, False, False, authenticated)
        with self.db.session() as session:
            local_domain = is_local_domain(session, parsed.domain, self.settings.smtp.local_domains)
            local_user = local_domain and find_user(session, str(parsed)) is not None
        return RecipientFacts(True, local_domain, local_user, authenticated)

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        """Check one recipient at once and answer 250, 550 or 553."""
        facts = await asyncio.to_thread(
            self.recipient_facts, address, bool(getattr(session, "authenticated", False))
        )
        reply = recipient_decision(facts)
        # The same mailbox named twice (in any case) gets one copy.
        if reply.startswith("250") and address.lower() not in {
            rcpt.lower() for rcpt in envelope.rcpt_tos
        }:
            envelope.rcpt_tos.append(address)
        return reply

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        """Spool durably, then answer 250 with the queue id; publish in the background."""
        data = envelope.original_content or b""
        if _BARE_EOL.search(data):
            self._log(session, envelope, None, len(data), "rejected: bare CR/LF")
            return replies.BARE_LINE_ENDING
        accepted = AcceptedEnvelope(
            mail_from=normalize_sender(envelope.mail_from),
            recipients=tuple(envelope.rcpt_tos),
            client_addr=str(session.peer[0]) if session.peer else "",
            helo=session.host_name or "",
            auth_user=str(session.auth_data) if session.authenticated else None,
            received_by=self.settings.smtp.hostname,
        )
        try:
            queue_id = await asyncio.to_thread(accept_message, self.db, self.spool, accepted, data)
        except SpoolError as exc:
            log.error("spool failure: %s", exc)
            self._log(session, envelope, None, len(data), "temporary failure: spool")
            return replies.LOCAL_ERROR
        self._log(session, envelope, queue_id, len(data), "queued")
        future = asyncio.get_running_loop().run_in_executor(
            self._publisher, self._publish, queue_id
        )
        self._pending.add(future)
        future.add_done_callback(self._pending.discard)
        return replies.QUEUED.format(queue_id=queue_id)

    def _publish(self, queue_id: str) -> None:
        try:
            publish(self.celery_app, queue_id)
        except Exception as exc:  # broker down: the message is safe in the spool
            log.warning("cannot publish %s (the sweeper will): %s", queue_id, exc)
            return
        try:
            mark_published(self.db, [queue_id])
        except Exception as exc:
            log.warning("cannot mark %s published: %s", queue_id, exc)

    def _log(
        self, session: Session, envelope: Envelope, queue_id: str | None, size: int, result: str
    ) -> None:
        log.info(
            "transaction queue_id=%s client=%s helo=%s tls=%s from=<%s> to=%s size=%d result=%s",
            queue_id or "-",
            session.peer[0] if session.peer else "-",
            session.host_name or "-",
            "yes" if session.ssl else "no",
            envelope.mail_from or "",
            ",".join(f"<{r}>" for r in envelope.rcpt_tos),
            size,
            result,
        )

    async def drain(self, timeout: float = 5.0) -> None:
        """Wait for publishes still under way (at shutdown)."""
        if self._pending:
            await asyncio.wait(list(self._pending), timeout=timeout)
        self._publisher.shutdown(wait=False)
