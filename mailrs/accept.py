"""The durability point: spool file fsynced and ``messages`` row committed, or neither.

Only after ``accept_message`` returns may a receiver answer 250; on SpoolError it must
answer 451 4.3.0, and nothing has been half-stored.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import update

from mailrs.db import Database
from mailrs.errors import SpoolError
from mailrs.models import Message, MessageEvent, Recipient, utcnow
from mailrs.spool import Spool, new_queue_id


@dataclass(frozen=True)
class Envelope:
    """What the SMTP session learned about one message."""

    mail_from: str
    recipients: tuple[str, ...]
    client_addr: str = ""
    helo: str = ""
    auth_user: str | None = None
    received_by: str = ""
    protocol: str = ""  # ESMTP, ESMTPSA, UTF8SMTPS, ... (RFC 3848, RFC 6531)
    tls: str = ""  # e.g. "TLSv1.3 TLS_AES_256_GCM_SHA384 256" when the session used TLS


def accept_message(db: Database, spool: Spool, envelope: Envelope, data: bytes) -> str:
    """Spool the bytes durably, commit the row, and return the new queue id."""
    if not envelope.recipients:
        raise ValueError("a message needs at least one recipient")
    queue_id = new_queue_id()
    size = spool.write(queue_id, data)
    record_messages(db, spool, [(queue_id, envelope, size)])
    return queue_id


def record_messages(db: Database, spool: Spool, spooled: list[tuple[str, Envelope, int]]) -> None:
    """Commit the rows of already spooled messages in one transaction (a group commit).

    On any failure every one of their spool files is removed and SpoolError raised, so
    nothing stays half-stored.
    """
    try:
        with db.session() as session:
            for queue_id, envelope, size in spooled:
                session.add(_message_row(queue_id, envelope, size))
            session.commit()
    except Exception as exc:  # whatever failed, nothing may stay half-stored
        for queue_id, _, _ in spooled:
            spool.remove(queue_id)
        raise SpoolError(f"cannot record message: {type(exc).__name__}") from exc


def _message_row(queue_id: str, envelope: Envelope, size: int) -> Message:
    """The ``messages`` row (with recipients and first event) of one accepted message."""
    message = Message(
        queue_id=queue_id,
        mail_from=envelope.mail_from,
        size=size,
        state="received",
        received_at=utcnow(),
        received_by=envelope.received_by,
        client_addr=envelope.client_addr,
        helo=envelope.helo[:255],
        auth_user=envelope.auth_user,
        protocol=envelope.protocol,
        tls=envelope.tls,
    )
    message.recipients = [
        Recipient(idx=i, address=rcpt) for i, rcpt in enumerate(envelope.recipients)
    ]
    message.events = [MessageEvent(stage="received", detail=f"{size} bytes")]
    return message


def mark_published(db: Database, queue_ids: list[str], when: dt.datetime | None = None) -> None:
    """Remember when the pipeline of these messages was (or will next be) on the broker."""
    with db.session() as session:
        session.execute(
            update(Message)
            .where(Message.queue_id.in_(queue_ids))
            .values(published_at=when or utcnow())
        )
        session.commit()
