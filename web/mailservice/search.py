"""Search a user's mail by sender, subject, text and date, newest first.

It reads the messages themselves (headers, and the body only when a text term is
given), newest first, and stops after ``MAX_SCANNED`` messages per folder so a search
never takes unbounded time on a huge mailbox.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from mailrs.errors import MessageNotFound
from web.mailservice.errors import BadInput
from web.mailservice.mailbox import MessageSummary, UserMailbox
from web.mailservice.reading import body_text, parse

MAX_SCANNED = 5000
SEARCH_FOLDERS = ("INBOX", "Archive", "Sent")


@dataclass(frozen=True)
class Query:
    """What to look for; empty fields match everything."""

    sender: str = ""
    subject: str = ""
    text: str = ""
    since: dt.date | None = None
    folders: tuple[str, ...] = SEARCH_FOLDERS

    @property
    def empty(self) -> bool:
        """True when nothing would narrow the search."""
        return not (self.sender or self.subject or self.text or self.since)


def _matches_head(summary: MessageSummary, query: Query) -> bool:
    if query.sender and query.sender.lower() not in summary.sender.lower():
        return False
    if query.subject and query.subject.lower() not in summary.subject.lower():
        return False
    return not (query.since and summary.date.date() < query.since)


def search(mailbox: UserMailbox, query: Query, limit: int = 50) -> list[MessageSummary]:
    """Messages matching every given criterion, newest first, at most ``limit``."""
    if query.empty:
        raise BadInput("give a sender, a subject, a text or a date to search for")
    found: list[MessageSummary] = []
    existing = {info.name for info in mailbox.folders()}
    for folder in query.folders:
        if folder not in existing:
            continue
        for message in list(reversed(mailbox.messages(folder)))[:MAX_SCANNED]:
            try:
                summary = mailbox.summary(folder, message)
            except MessageNotFound:
                continue
            if not _matches_head(summary, query):
                continue
            if query.text:
                raw = mailbox.raw(folder, message.uid)
                text, html = body_text(parse(raw))
                haystack = f"{summary.subject}\n{text}\n{html or ''}".lower()
                if query.text.lower() not in haystack:
                    continue
            found.append(summary)
    found.sort(key=lambda s: s.date.timestamp(), reverse=True)
    return found[:limit]
