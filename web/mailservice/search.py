"""Search a user's mail through the full-text index IMAP SEARCH uses, newest first.

Text criteria (words, sender, recipient, subject) are lookups in the index's trigram
table (``MailboxService.search_text``); a message's content is parsed into the index
the first time a search needs it (``ensure_content``), exactly as for IMAP. Dates come
from the indexed ``Date:`` header (the arrival date when it has none), unread from the
flags; "has attachment" narrows by the indexed headers (``multipart/mixed``) and checks
the MIME tree of the results only. Nothing scans message files per search.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from mailrs.errors import MessageNotFound
from mailrs.store.mime import Part, parse
from mailrs.store.records import IndexedMessage, MessageRef
from web.mailservice.errors import BadInput, NotFound
from web.mailservice.mailbox import MessageSummary, UserMailbox

SKIPPED_FOLDERS = ("Trash", "Junk")  # searched only when chosen as the folder
TEXT_COLUMNS = ("subject", "body", "hfrom", "hto", "hcc")
MAX_WORDS = 10


@dataclass(frozen=True)
class Query:
    """What to look for; empty fields match everything.

    ``folders`` empty searches every folder but Trash and Junk; ``before`` is inclusive.
    """

    sender: str = ""
    subject: str = ""
    text: str = ""
    since: dt.date | None = None
    recipient: str = ""
    before: dt.date | None = None
    unread: bool = False
    has_attachment: bool = False
    folders: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        """True when nothing would narrow the search."""
        return not (
            self.sender
            or self.subject
            or self.text
            or self.since
            or self.recipient
            or self.before
            or self.unread
            or self.has_attachment
        )


def _has_attachment(part: Part) -> bool:
    """True when a MIME tree has a part sent as an attachment (or with a file name)."""
    if part.children:
        return any(_has_attachment(child) for child in part.children)
    disposition = str(part.fields.get("content-disposition", "")).split(";", 1)[0]
    if disposition.strip().lower() == "attachment":
        return True
    return part.fields.get_filename() is not None or part.fields.get_param(
        "name", header="content-type"
    ) not in (None, "")


def _matching_uids(mailbox: UserMailbox, folder: str, query: Query) -> set[int] | None:
    """UIDs the text criteria allow (None: no text criterion, every UID)."""
    service = mailbox.service
    allowed: set[int] | None = None

    def narrow(found: set[int]) -> None:
        nonlocal allowed
        allowed = found if allowed is None else allowed & found

    for word in query.text.split()[:MAX_WORDS]:
        hits: set[int] = set()
        for column in TEXT_COLUMNS:
            hits |= service.search_text(folder, column, word)
        narrow(hits)
    if query.sender:
        narrow(service.search_text(folder, "hfrom", query.sender))
    if query.recipient:
        to = service.search_text(folder, "hto", query.recipient)
        narrow(to | service.search_text(folder, "hcc", query.recipient))
    if query.subject:
        narrow(service.search_text(folder, "subject", query.subject))
    if query.has_attachment:
        narrow(service.search_text(folder, "headers", "multipart/mixed"))
    return allowed


def _in_range(when: dt.datetime, query: Query) -> bool:
    day = when.date()
    if query.since and day < query.since:
        return False
    return not (query.before and day > query.before)


def _folder_hits(
    mailbox: UserMailbox, folder: str, query: Query
) -> list[tuple[dt.datetime, str, IndexedMessage]]:
    """(date, folder, message) of every message of a folder the query matches."""
    messages = mailbox.messages(folder)
    if query.unread:
        messages = [m for m in messages if "S" not in m.flags]
    if not messages:
        return []
    mailbox.service.ensure_content(folder, [MessageRef.of(m) for m in messages])
    allowed = _matching_uids(mailbox, folder, query)
    sent = mailbox.service.sent_dates(folder)
    hits = []
    for message in messages:
        if allowed is not None and message.uid not in allowed:
            continue
        stamp = sent.get(message.uid) or message.internaldate
        when = dt.datetime.fromtimestamp(stamp, dt.UTC)
        if _in_range(when, query):
            hits.append((when, folder, message))
    return hits


def search_folders(mailbox: UserMailbox, query: Query) -> list[str]:
    """The folders a query searches: the chosen ones, or all but Trash and Junk."""
    names = [info.name for info in mailbox.folders()]
    for folder in query.folders:
        if folder not in names:
            raise NotFound(f"no folder {folder!r}")
    if query.folders:
        return list(dict.fromkeys(query.folders))
    return [name for name in names if name not in SKIPPED_FOLDERS]


def search(mailbox: UserMailbox, query: Query, limit: int = 50) -> list[MessageSummary]:
    """Messages matching every given criterion, newest first, at most ``limit``."""
    if query.empty:
        raise BadInput("give words, a sender, a recipient, a subject, a date or a filter")
    hits = []
    for folder in search_folders(mailbox, query):
        hits.extend(_folder_hits(mailbox, folder, query))
    hits.sort(key=lambda hit: hit[0], reverse=True)
    found: list[MessageSummary] = []
    for _, folder, message in hits:
        if len(found) >= limit:
            break
        try:
            if query.has_attachment and not _has_attachment(
                parse(mailbox.raw(folder, message.uid))
            ):
                continue
            found.append(mailbox.summary(folder, message))
        except (MessageNotFound, NotFound):
            continue  # moved or deleted meanwhile
    return found
