"""Sending from the web: the same submission path as SMTP AUTH, then a copy in Sent.

The rules of ``mailrs.queue.submission`` (sender policy, Message-ID and Date), recipient
resolution with ``mailrs.accounts.resolve`` (an unknown local address is refused before anything
is stored), the durability point ``mailrs.queue.accept.accept_message``, and the Celery
pipeline via ``mailrs.queue.publish.publish_and_mark``, so delivery, relay and retries all apply.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from mailrs.accounts.preferences import display_name_for
from mailrs.accounts.resolve import resolve_recipient
from mailrs.addresses import parse_address
from mailrs.config import Settings
from mailrs.db.engine import Database
from mailrs.errors import InvalidAddress, SpoolError
from mailrs.queue.accept import Envelope, accept_message
from mailrs.queue.publish import publish_and_mark
from mailrs.queue.spool import Spool
from mailrs.queue.submission import complete_headers, sender_allowed
from web.mailservice.compose import Draft, build_message
from web.mailservice.errors import SendRefused, Unavailable
from web.mailservice.mailbox import SENT, UserMailbox

if TYPE_CHECKING:  # Celery is loaded when the first message is sent
    from celery import Celery

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outbox:
    """What sending needs: settings, the central database and the spool."""

    settings: Settings
    database: Database
    spool: Spool

    def celery(self) -> Celery:
        """The Celery app pointed at this installation's broker (configured on first use)."""
        from mailrs.celery import configure

        return configure(self.settings)


@dataclass(frozen=True)
class SentMessage:
    """A message accepted for delivery."""

    queue_id: str
    message_id: str
    recipients: tuple[str, ...]


def check_recipients(session: Session, settings: Settings, recipients: tuple[str, ...]) -> None:
    """SendRefused when any recipient is an unknown address of a local domain."""
    for address in recipients:
        try:
            parse_address(address)
        except InvalidAddress as exc:
            raise SendRefused(f"{address}: not an email address") from exc
        resolution = resolve_recipient(session, address, settings.smtp.local_domains)
        if resolution is None:
            raise SendRefused(f"{address}: no such mailbox here (5.1.1)")


def send_draft(
    outbox: Outbox,
    session: Session,
    mailbox: UserMailbox,
    draft: Draft,
    client_addr: str = "",
) -> SentMessage:
    """Check, build, accept durably, hand to the pipeline and file a copy in Sent."""
    settings = outbox.settings
    address = mailbox.address
    if not draft.recipients:
        raise SendRefused("a message needs at least one recipient")
    if not sender_allowed(session, address, address, settings.smtp.sender_policy):
        raise SendRefused(f"{address} may not send as {address}")
    check_recipients(session, settings, draft.recipients)
    message = build_message(draft, address, display_name_for(session, address))
    raw = complete_headers(message.as_bytes(), settings.smtp.hostname)
    if len(raw) > settings.smtp.max_message_size:
        raise SendRefused(f"the message is larger than {settings.smtp.max_message_size} bytes")
    envelope = Envelope(
        mail_from=address,
        recipients=draft.recipients,
        client_addr=client_addr[:64],
        helo="web",
        auth_user=address,
        received_by=settings.smtp.hostname,
    )
    try:
        outbox.spool.ensure()
        queue_id = accept_message(outbox.database, outbox.spool, envelope, raw)
    except (SpoolError, OSError) as exc:
        raise Unavailable("the message could not be stored; nothing was sent") from exc
    try:
        error = publish_and_mark(outbox.celery(), outbox.database, [queue_id]).error
    except Exception as exc:  # noqa: BLE001 - no broker configured: the sweeper will
        error = exc
    if error is not None:
        log.warning("cannot publish %s now (the sweeper will): %s", queue_id, error)
    sent_copy = raw
    if draft.bcc:
        sent_copy = b"Bcc: " + ", ".join(draft.bcc).encode() + b"\r\n" + raw
    mailbox.append(SENT, sent_copy, flags="S")
    message_id = _message_id(raw)
    return SentMessage(queue_id, message_id, draft.recipients)


def _message_id(raw: bytes) -> str:
    for line in raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n"):
        if line.lower().startswith(b"message-id:"):
            return line.split(b":", 1)[1].strip().decode("ascii", "replace")
    return ""
