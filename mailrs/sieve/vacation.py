"""Vacation replies (RFC 5230): when to answer, duplicate tracking, and the reply itself."""

from __future__ import annotations

import datetime as dt
import email.utils
from email.message import EmailMessage
from email.policy import SMTP

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailrs.db.models import VacationReply, utcnow
from mailrs.sieve.actions import Vacation

BULK_PRECEDENCE = {"bulk", "list", "junk"}
NO_REPLY_LOCALPARTS = ("mailer-daemon", "owner-", "-request", "listserv", "majordomo")


def may_answer(message: EmailMessage, mail_from: str, own: set[str]) -> bool:
    """RFC 5230 section 4.5/4.6: never answer ``<>``, lists, bulk, auto-submitted mail,
    robots, ourselves, or a message that is not addressed to one of our addresses."""
    sender = mail_from.lower()
    if not sender or "@" not in sender or sender in own:
        return False
    local = sender.split("@", 1)[0]
    if local.startswith("owner-") or local.endswith("-request") or local in NO_REPLY_LOCALPARTS:
        return False
    if local.startswith("mailer-daemon") or local in ("listserv", "majordomo"):
        return False
    if any(name.lower().startswith("list-") for name in message):
        return False
    if str(message.get("Precedence", "")).strip().lower() in BULK_PRECEDENCE:
        return False
    if str(message.get("Auto-Submitted", "no")).strip().lower() != "no":
        return False
    if "X-Auto-Response-Suppress" in message:
        return False
    recipients = [
        addr.lower()
        for _, addr in email.utils.getaddresses(
            [
                str(v)
                for h in ("To", "Cc", "Bcc", "Resent-To", "Resent-Cc")
                for v in message.get_all(h, [])
            ]
        )
    ]
    return any(addr in own for addr in recipients)


def claim_reply(
    session: Session, user: str, sender: str, action: Vacation, now: dt.datetime | None = None
) -> bool:
    """True (and recorded) when ``sender`` was not answered within ``:days``; the caller commits."""
    now = now or utcnow()
    handle = (action.handle or action.subject + "\0" + action.reason)[:64]
    row = session.scalar(
        select(VacationReply).where(
            VacationReply.user_address == user.lower(),
            VacationReply.sender == sender.lower()[:254],
            VacationReply.handle == handle,
        )
    )
    if row is not None:
        if now - row.sent_at < dt.timedelta(days=action.days):
            return False
        row.sent_at = now
        return True
    session.add(
        VacationReply(
            user_address=user.lower(), sender=sender.lower()[:254], handle=handle, sent_at=now
        )
    )
    return True


def build_reply(
    original: EmailMessage, user: str, sender: str, action: Vacation, hostname: str
) -> bytes:
    """The reply message (RFC 5230 section 5): Auto-Submitted, In-Reply-To, References."""
    reply = EmailMessage()
    reply["From"] = action.from_address or user
    reply["To"] = sender
    subject = action.subject or "Auto: " + " ".join(str(original.get("Subject", "")).split())
    reply["Subject"] = subject[:250]
    reply["Date"] = email.utils.formatdate(localtime=False, usegmt=True)
    reply["Message-ID"] = email.utils.make_msgid(domain=hostname)
    reply["Auto-Submitted"] = "auto-replied (vacation)"
    reply["Precedence"] = "bulk"
    original_id = str(original.get("Message-ID", "")).strip()
    if original_id:
        reply["In-Reply-To"] = original_id
        references = " ".join(str(original.get("References", "")).split())
        reply["References"] = f"{references} {original_id}".strip()
    if action.mime:
        reply.set_content(action.reason.encode(), maintype="text", subtype="plain", cte="8bit")
    else:
        reply.set_content(action.reason)
    return reply.as_bytes(policy=SMTP)
