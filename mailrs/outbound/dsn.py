"""Delivery status notifications (RFC 3464): the bounce and the "delayed" warning.

A DSN is ``multipart/report; report-type=delivery-status`` with three parts: a text for
people, a ``message/delivery-status`` with one block per message and one per recipient
(``Final-Recipient``, ``Action``, ``Status``, ``Remote-MTA``, ``Diagnostic-Code``), and
the original message's headers as ``text/rfc822-headers``. It is sent from the null
sender ``<>`` so that it can never cause another bounce.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import secrets
from dataclasses import dataclass

from mailrs.queue.submission import header_block, new_message_id

MAX_HEADERS = 64 * 1024


@dataclass(frozen=True)
class DsnRecipient:
    """One recipient's line in a DSN."""

    address: str
    action: str  # failed | delayed
    status: str  # RFC 3463, e.g. 5.1.1
    diagnostic: str = ""  # the SMTP reply, e.g. "550 5.1.1 no such user"
    remote_mta: str = ""


def _clean(text: str) -> str:
    """One line of visible text: header-safe."""
    return " ".join(text.replace("\r", " ").replace("\n", " ").split())[:900]


def _fold_address(address: str) -> str:
    return _clean(address) or "unknown"


def build_dsn(
    reporting_mta: str,
    sender: str,
    queue_id: str,
    arrival: dt.datetime,
    recipients: list[DsnRecipient],
    original: bytes,
    now: dt.datetime | None = None,
    retry_until: dt.datetime | None = None,
) -> bytes:
    """The bytes of a DSN to ``sender`` about ``recipients`` of the message ``queue_id``."""
    now = now or dt.datetime.now(dt.UTC)
    delayed = all(r.action == "delayed" for r in recipients)
    boundary = f"=_mailrs_dsn_{secrets.token_hex(12)}"
    subject = (
        "Delayed Mail (still being retried)" if delayed else "Undelivered Mail Returned to Sender"
    )
    head = [
        f"From: Mail Delivery System <MAILER-DAEMON@{reporting_mta}>",
        f"To: <{_fold_address(sender)}>",
        f"Subject: {subject}",
        f"Date: {email.utils.format_datetime(now)}",
        f"Message-ID: {new_message_id(reporting_mta)}",
        "Auto-Submitted: auto-replied",
        "MIME-Version: 1.0",
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"',
    ]
    human = _human_text(reporting_mta, queue_id, recipients, delayed)
    per_message = [
        f"Reporting-MTA: dns; {reporting_mta}",
        f"X-Mailrs-Queue-ID: {queue_id}",
        f"Arrival-Date: {email.utils.format_datetime(arrival)}",
    ]
    blocks = ["\r\n".join(per_message)]
    for rcpt in recipients:
        lines = [
            f"Final-Recipient: rfc822; {_fold_address(rcpt.address)}",
            f"Action: {rcpt.action}",
            f"Status: {rcpt.status}",
        ]
        if rcpt.remote_mta:
            lines.append(f"Remote-MTA: dns; {_clean(rcpt.remote_mta)}")
        if rcpt.diagnostic:
            lines.append(f"Diagnostic-Code: smtp; {_clean(rcpt.diagnostic)}")
        lines.append(f"Last-Attempt-Date: {email.utils.format_datetime(now)}")
        if rcpt.action == "delayed" and retry_until is not None:
            lines.append(f"Will-Retry-Until: {email.utils.format_datetime(retry_until)}")
        blocks.append("\r\n".join(lines))
    headers = header_block(original)[:MAX_HEADERS].rstrip(b"\r\n")
    parts: list[bytes] = [
        "\r\n".join(head).encode(),
        b"",
        b"This is a MIME-encapsulated message.",
        b"",
        f"--{boundary}".encode(),
        b'Content-Type: text/plain; charset="utf-8"',
        b"Content-Transfer-Encoding: 8bit",
        b"Content-Description: Notification",
        b"",
        human.encode(),
        b"",
        f"--{boundary}".encode(),
        b"Content-Type: message/delivery-status",
        b"Content-Description: Delivery report",
        b"",
        ("\r\n\r\n".join(blocks)).encode(),
        b"",
        f"--{boundary}".encode(),
        b"Content-Type: text/rfc822-headers",
        b"Content-Description: Undelivered Message Headers",
        b"",
        headers,
        b"",
        f"--{boundary}--".encode(),
        b"",
    ]
    return b"\r\n".join(parts)


def _human_text(
    reporting_mta: str, queue_id: str, recipients: list[DsnRecipient], delayed: bool
) -> str:
    if delayed:
        intro = (
            f"This is the mail system at {reporting_mta}.\r\n\r\n"
            "Your message could not be delivered yet to the recipients below. The mail\r\n"
            "system will keep trying; you do not need to send it again.\r\n"
        )
    else:
        intro = (
            f"This is the mail system at {reporting_mta}.\r\n\r\n"
            "I'm sorry to have to inform you that your message could not be delivered\r\n"
            "to one or more recipients. It is attached below.\r\n"
        )
    lines = [intro, f"Queue ID: {queue_id}", ""]
    for rcpt in recipients:
        reason = _clean(rcpt.diagnostic) or rcpt.status
        lines.append(f"<{_fold_address(rcpt.address)}>: {reason}")
    return "\r\n".join(lines)
