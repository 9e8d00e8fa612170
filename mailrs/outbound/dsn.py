"""Delivery status notifications (RFC 3464): bounces, "delayed" warnings, success reports.

A DSN is ``multipart/report; report-type=delivery-status`` with three parts: a text for
people, a ``message/delivery-status`` with one block per message (``Original-Envelope-Id``
when the sender gave ENVID) and one per recipient (``Original-Recipient`` from ORCPT,
``Final-Recipient``, ``Action``, ``Status``, ``Remote-MTA``, ``Diagnostic-Code``), and the
original message: its headers as ``text/rfc822-headers``, or the whole of it as
``message/rfc822`` when the sender asked RET=FULL (RFC 3461). It is sent from the null
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
    action: str  # failed | delayed | delivered | relayed
    status: str  # RFC 3463, e.g. 5.1.1
    diagnostic: str = ""  # the SMTP reply, e.g. "550 5.1.1 no such user"
    remote_mta: str = ""
    original: str = ""  # ORCPT as "rfc822;bob@example.org" (RFC 3461 4.2)


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
    envid: str = "",
    full: bool = False,
) -> bytes:
    """The bytes of a DSN to ``sender`` about ``recipients`` of the message ``queue_id``.

    ``envid`` is the sender's ENVID; ``full`` returns the whole message (RET=FULL) instead
    of its headers.
    """
    now = now or dt.datetime.now(dt.UTC)
    kind = _kind(recipients)
    boundary = f"=_mailrs_dsn_{secrets.token_hex(12)}"
    subject = SUBJECTS[kind]
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
    human = _human_text(reporting_mta, queue_id, recipients, kind)
    per_message = [f"Original-Envelope-Id: {_clean(envid)}"] if envid else []
    per_message += [
        f"Reporting-MTA: dns; {reporting_mta}",
        f"X-Mailrs-Queue-ID: {queue_id}",
        f"Arrival-Date: {email.utils.format_datetime(arrival)}",
    ]
    blocks = ["\r\n".join(per_message)]
    for rcpt in recipients:
        lines = []
        if rcpt.original:
            kind_, _, address = rcpt.original.partition(";")
            lines.append(f"Original-Recipient: {_clean(kind_)};{_clean(address)}")
        lines += [
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
    if full:
        returned = [b"Content-Type: message/rfc822", b"Content-Description: Returned Message"]
        body = original.rstrip(b"\r\n")
    else:
        returned = [
            b"Content-Type: text/rfc822-headers",
            b"Content-Description: Returned Message Headers",
        ]
        body = header_block(original)[:MAX_HEADERS].rstrip(b"\r\n")
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
        *returned,
        b"",
        body,
        b"",
        f"--{boundary}--".encode(),
        b"",
    ]
    return b"\r\n".join(parts)


SUBJECTS = {
    "failed": "Undelivered Mail Returned to Sender",
    "delayed": "Delayed Mail (still being retried)",
    "success": "Successful Mail Delivery Report",
}


def _kind(recipients: list[DsnRecipient]) -> str:
    """failed, delayed or success: what the DSN as a whole reports."""
    actions = {r.action for r in recipients}
    if actions <= {"delivered", "relayed", "expanded"}:
        return "success"
    if actions == {"delayed"}:
        return "delayed"
    return "failed"


def _human_text(
    reporting_mta: str, queue_id: str, recipients: list[DsnRecipient], kind: str
) -> str:
    if kind == "success":
        intro = (
            f"This is the mail system at {reporting_mta}.\r\n\r\n"
            'Your message was delivered to the recipients below ("relayed": handed on\r\n'
            "to a mail system that sends no further reports).\r\n"
        )
    elif kind == "delayed":
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
        reason = rcpt.action if kind == "success" else _clean(rcpt.diagnostic) or rcpt.status
        lines.append(f"<{_fold_address(rcpt.address)}>: {reason}")
    return "\r\n".join(lines)
