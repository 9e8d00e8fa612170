"""The durability point: spool file fsynced and ``messages`` row committed, or neither.

Only after ``accept_message`` returns may a receiver answer 250; on SpoolError it must
answer 451 4.3.0, and nothing has been half-stored.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, update

from mailrs.db.engine import Database
from mailrs.db.models import Message, MessageEvent, Recipient, utcnow
from mailrs.errors import SpoolError
from mailrs.queue.spool import Spool, new_queue_id


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

    Three multi-row INSERTs (messages, their recipients, their first history event)
    rather than ORM objects: this runs for every accepted message, on the reply path.
    On any failure every one of their spool files is removed and SpoolError raised, so
    nothing stays half-stored.
    """
    try:
        with db.session() as session:
            now = utcnow()
            ids = session.scalars(
                insert(Message).returning(Message.id, sort_by_parameter_order=True),
                [
                    _message_values(queue_id, envelope, size, now)
                    for queue_id, envelope, size in spooled
                ],
            ).all()
            session.execute(
                insert(Recipient),
                [
                    {"message_id": message_id, "idx": i, "address": rcpt, "updated_at": now}
                    for message_id, (_, envelope, _) in zip(ids, spooled, strict=True)
                    for i, rcpt in enumerate(envelope.recipients)
                ],
            )
            session.execute(
                insert(MessageEvent),
                [
                    {
                        "message_id": message_id,
                        "at": now,
                        "stage": "received",
                        "detail": f"{size} bytes",
                    }
                    for message_id, (_, _, size) in zip(ids, spooled, strict=True)
                ],
            )
            session.commit()
    except Exception as exc:  # whatever failed, nothing may stay half-stored
        for queue_id, _, _ in spooled:
            spool.remove(queue_id)
        raise SpoolError(f"cannot record message: {type(exc).__name__}") from exc


def _message_values(
    queue_id: str, envelope: Envelope, size: int, now: dt.datetime
) -> dict[str, Any]:
    """The ``messages`` row of one accepted message."""
    return {
        "queue_id": queue_id,
        "mail_from": envelope.mail_from,
        "size": size,
        "state": "received",
        "received_at": now,
        "received_by": envelope.received_by,
        "client_addr": envelope.client_addr,
        "helo": envelope.helo[:255],
        "auth_user": envelope.auth_user,
        "protocol": envelope.protocol,
        "tls": envelope.tls,
    }


def mark_published(db: Database, queue_ids: list[str], when: dt.datetime | None = None) -> None:
    """Remember when the pipeline of these messages was (or will next be) on the broker."""
    with db.session() as session:
        session.execute(
            update(Message)
            .where(Message.queue_id.in_(queue_ids))
            .values(published_at=when or utcnow())
        )
        session.commit()
