"""The mail blueprint: the inbox page, listing the newest messages of the logged-in user.

The list reads only the head of each listed message file (its header block, at most
64 KiB), never a whole message, which may be many megabytes.
"""

from __future__ import annotations

import datetime as dt
import email.utils
from dataclasses import dataclass

from flask import Blueprint, current_app, render_template
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from mailrs.errors import MailboxNotFound, MessageNotFound
from mailrs.mailbox_names import INBOX
from mailrs.maildir import MaildirStore
from mailrs.summaries import MAX_HEADER_BYTES, summarize
from web.resources import get_store

bp = Blueprint("mail", __name__)

INBOX_PAGE_SIZE = 20


@dataclass(frozen=True)
class MessageRow:
    """One line of a message list: who, what, when, and whether it was read."""

    key: str
    subject: str
    sender_name: str
    sender_address: str
    date: dt.datetime
    unread: bool

    @property
    def date_iso(self) -> str:
        """The date for a ``<time datetime>`` attribute."""
        return self.date.isoformat(timespec="seconds")

    @property
    def date_label(self) -> str:
        """The date as the list shows it, e.g. ``3 Mar 2025, 14:05``."""
        return f"{self.date.day} {self.date:%b %Y, %H:%M}"


@dataclass(frozen=True)
class MessagePage:
    """The newest messages of a mailbox and how many the mailbox holds in all."""

    rows: list[MessageRow]
    total: int


def newest_messages(
    store: MaildirStore, address: str, mailbox: str = INBOX, limit: int = INBOX_PAGE_SIZE
) -> MessagePage:
    """The ``limit`` newest messages, newest first; reads only the heads of those files."""
    try:
        stored = store.list_messages(address, mailbox)
    except MailboxNotFound:
        current_app.logger.warning("no Maildir for %s", address)
        return MessagePage(rows=[], total=0)
    rows = []
    for message in reversed(stored[-limit:] if limit else []):
        try:
            head = store.read_head(
                address, mailbox, message.key, limit=MAX_HEADER_BYTES, filename=message.filename
            )
        except MessageNotFound:
            continue  # moved or deleted since the listing
        summary = summarize(head)
        name, sender = email.utils.parseaddr(summary.sender)
        rows.append(
            MessageRow(
                key=message.key,
                subject=summary.subject,
                sender_name=name or sender or summary.sender,
                sender_address=sender,
                date=summary.date or dt.datetime.fromtimestamp(message.mtime, dt.UTC),
                unread="S" not in message.flags,
            )
        )
    return MessagePage(rows=rows, total=len(stored))


@bp.get("/")
@login_required
def inbox() -> ResponseReturnValue:
    """The logged-in user's newest INBOX messages."""
    page = newest_messages(get_store(), current_user.address)
    body = render_template("inbox.html", page=page)
    return body, 200, {"Cache-Control": "private, no-store"}
