"""The bytes of a message as the stages after validate see, score, store and send them.

The spool keeps the bytes as received; the trace headers validate and spam_check
prepared (``Received:``, ``Authentication-Results:``, defects, the spam verdict) live on
the ``messages`` row. Spam scoring, delivery and relay all take the message as: those
added headers, then the spooled bytes without any ``Authentication-Results:`` forged in
our name (``mailrs.inbound.trust``); delivery into a mailbox puts ``Return-Path:`` first.
"""

from __future__ import annotations

from mailrs.config import Settings
from mailrs.db.models import Message
from mailrs.inbound.trust import trusted_body
from mailrs.queue.spool import Spool


def return_path(mail_from: str) -> bytes:
    """The ``Return-Path:`` field a final delivery adds (RFC 5321 section 4.4)."""
    return f"Return-Path: <{mail_from}>\r\n".encode()


def message_bytes(
    settings: Settings, spool: Spool, message: Message, *, for_mailbox: bool = False
) -> bytes:
    """Added headers + trusted spool bytes (with Return-Path for a mailbox); SpoolError."""
    body = trusted_body(settings, message, spool.read(message.queue_id))
    headers = message.added_headers.encode("utf-8", "surrogateescape")
    if for_mailbox:
        headers = return_path(message.mail_from) + headers
    return headers + body
