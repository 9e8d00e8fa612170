"""Find the messages a request describes from the mailbox index, never the messages.

Each message is known as ``Facts`` built from what the index keeps: its flags and size
(from the Maildir file name, ``MailboxService.messages``) and, from the full-text side
(``MailIndex.indexed_content``), its decoded headers, body text and attachments
(name, type, size). A message is parsed once, when it first enters the index's content
(``ensure_content``, shared with IMAP SEARCH); after that a request reads no message, so
what it costs does not grow with the size of the messages, only with their number in
the index. ``Criteria`` from the request are checked against those facts, newest first.

Topics go through the full-text index IMAP SEARCH uses (``MailboxService.search_text``
on the subject, body and sender): each topic word, its synonyms (``lexicon``) and the
accented spellings of it the user's own mail has ("reunion" also asks for "réunion").
A hit must then start a word of the message (the index matches any substring), or name
an attachment.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re
from dataclasses import dataclass, field, replace

from mailrs.store.fulltext import IndexedContent
from mailrs.store.records import IndexedMessage, MessageRef
from web.assistant.language import fold
from web.assistant.lexicon import alternatives
from web.mailservice.errors import ServiceError
from web.mailservice.flags import flag_names
from web.mailservice.mailbox import MessageSummary, UserMailbox
from web.mailservice.reading import Attachment, html_to_text

RECEIVED = ("INBOX", "Archive")
TOPIC_COLUMNS = ("subject", "body", "hfrom")
MAX_PER_FOLDER = 2000
HTML_START = re.compile(r"<(?:!doctype|html|head|body|div|p|table)\b", re.IGNORECASE)
URGENT_WORDS = re.compile(r"\b(urgent|urgente|asap|immediately|immediatement|critical|critique)\b")
KINDS = {
    "pdf": ("application/pdf",),
    "sheet": ("spreadsheet", "excel", "csv"),
    "image": ("image/",),
    "archive": ("zip", "compressed", "x-tar"),
    "document": ("msword", "wordprocessing", "opendocument.text", "pdf"),
}


@dataclass(frozen=True)
class Facts:
    """What the assistant knows of one message."""

    summary: MessageSummary
    words: str  # folded subject, sender, body and attachment names
    body: str
    to: str
    attachments: tuple[Attachment, ...]
    urgent: bool
    newsletter: bool

    @property
    def ref(self) -> tuple[str, int]:
        """(folder, uid)."""
        return (self.summary.folder, self.summary.uid)

    @property
    def day(self) -> dt.date:
        """The day it was sent."""
        return self.summary.date.date()


@dataclass
class Criteria:
    """What a request says about the messages it means; empty fields match all."""

    senders: tuple[str, ...] = ()  # folded names or addresses, any of them
    recipients: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()  # folded words, all of them
    start: dt.date | None = None
    end: dt.date | None = None
    folders: tuple[str, ...] = ()
    unread: bool = False
    flagged: bool = False
    attachments: bool = False
    kinds: tuple[str, ...] = ()
    min_size: int = 0
    newsletter: bool = False
    urgent: bool = False
    latest: bool = False
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        """True when nothing narrows the messages."""
        return not (
            self.senders
            or self.recipients
            or self.topics
            or self.start
            or self.end
            or self.folders
            or self.unread
            or self.flagged
            or self.attachments
            or self.kinds
            or self.min_size
            or self.newsletter
            or self.urgent
        )


def _matches_kind(attachment: Attachment, kinds: tuple[str, ...]) -> bool:
    mime = attachment.content_type.lower()
    name = attachment.filename.lower()
    for kind in kinds:
        needles = KINDS.get(kind, (kind,))
        if any(n in mime for n in needles) or name.endswith("." + kind):
            return True
        if kind == "sheet" and name.endswith((".xlsx", ".xls", ".ods", ".csv")):
            return True
    return False


def topic_matches(words: str, topic: str) -> bool:
    """True when a folded text has the topic word (or its pair), as a word start."""
    return any(re.search(rf"(?<![a-z0-9]){re.escape(form)}", words) for form in alternatives(topic))


def sender_matches(summary: MessageSummary, name: str) -> bool:
    """True when every word of ``name`` starts a word of the sender's name or address."""
    who = fold(summary.sender)
    return all(re.search(rf"(?<![a-z0-9]){re.escape(part)}", who) for part in name.split())


def matches(facts: Facts, criteria: Criteria) -> bool:
    """True when one message fits every criterion."""
    s = facts.summary
    if criteria.senders and not any(sender_matches(s, n) for n in criteria.senders):
        return False
    if criteria.recipients and not any(
        all(p in fold(facts.to) for p in r.split()) for r in criteria.recipients
    ):
        return False
    if criteria.start and facts.day < criteria.start:
        return False
    if criteria.end and facts.day >= criteria.end:
        return False
    if criteria.unread and not s.unread:
        return False
    if criteria.flagged and "flagged" not in s.flags:
        return False
    if (criteria.attachments or criteria.kinds) and not facts.attachments:
        return False
    if criteria.kinds and not any(_matches_kind(a, criteria.kinds) for a in facts.attachments):
        return False
    if criteria.min_size and s.size < criteria.min_size:
        return False
    if criteria.newsletter and not facts.newsletter:
        return False
    if criteria.urgent and not facts.urgent:
        return False
    return all(topic_matches(facts.words, t) for t in criteria.topics)


def _spellings(words: str, accented: dict[str, set[str]]) -> None:
    """Note the accented words of a text under their folded form."""
    if words.isascii():  # most mail: nothing to note, and no regex to run
        return
    for word in re.findall(r"\w+", words):
        if not word.isascii():
            accented.setdefault(fold(word), set()).add(word.lower())


class Finder:
    """The facts of a user's messages, read once and kept for the chat."""

    def __init__(self, mailbox: UserMailbox) -> None:
        self.mailbox = mailbox
        self._facts: dict[tuple[str, int], Facts] = {}
        self._accented: dict[str, set[str]] = {}

    def folder_names(self) -> list[str]:
        """The user's folders."""
        return [info.name for info in self.mailbox.folders()]

    def facts(self, folder: str) -> list[Facts]:
        """Every message of a folder, newest first (at most ``MAX_PER_FOLDER``)."""
        try:
            messages = list(reversed(self.mailbox.messages(folder)))[:MAX_PER_FOLDER]
        except ServiceError:
            return []
        missing = [m for m in messages if (folder, m.uid) not in self._facts]
        if missing:
            self._learn(folder, missing)
        found = []
        for message in messages:
            known = self._facts.get((folder, message.uid))
            if known is None:
                continue  # gone from the Maildir since the index listed it
            flags_now = tuple(flag_names(message.flags))
            if known.summary.flags != flags_now:
                known = replace(known, summary=replace(known.summary, flags=flags_now))
                self._facts[(folder, message.uid)] = known
            found.append(known)
        return found

    def _learn(self, folder: str, messages: list[IndexedMessage]) -> None:
        """The facts of messages not known yet, from the index (parsing the new ones)."""
        service = self.mailbox.service
        service.ensure_content(folder, [MessageRef.of(m) for m in messages])
        content = service.index.indexed_content(folder, [m.uid for m in messages])
        for message in messages:
            indexed = content.get(message.uid)
            if indexed is not None:
                self._facts[(folder, message.uid)] = _facts_of(folder, message, indexed)

    def find(self, criteria: Criteria) -> list[Facts]:
        """Messages that fit, newest first."""
        folders = criteria.folders or (("Sent",) if criteria.recipients else RECEIVED)
        found = []
        for folder in folders:
            facts = self.facts(folder)
            if criteria.topics:
                uids = self.topic_uids(folder, criteria.topics)
                facts = [f for f in facts if f.summary.uid in uids or _named(f, criteria)]
            found += [f for f in facts if matches(f, criteria)]
        found.sort(key=lambda f: f.summary.date, reverse=True)
        return found

    def topic_uids(self, folder: str, topics: tuple[str, ...]) -> set[int]:
        """UIDs of a folder the full-text index finds for every topic (any of its forms)."""
        service = self.mailbox.service
        try:
            service.ensure_content(
                folder, [MessageRef.of(m) for m in self.mailbox.messages(folder)]
            )
        except ServiceError:
            return set()
        allowed: set[int] | None = None
        for topic in topics:
            hits: set[int] = set()
            for form in self.spellings(topic):
                for column in TOPIC_COLUMNS:
                    hits |= service.search_text(folder, column, form)
            allowed = hits if allowed is None else allowed & hits
        return allowed or set()

    def spellings(self, topic: str) -> set[str]:
        """A topic's forms (synonyms) and the accented spellings of them in the user's mail."""
        if not self._accented:
            for folder in RECEIVED:
                for facts in self.facts(folder):
                    _spellings(f"{facts.summary.subject} {facts.body}", self._accented)
        forms = set(alternatives(topic))
        for form in list(forms):
            for folded, written in self._accented.items():
                if folded.startswith(form):
                    forms |= {w[: len(form)] for w in written}
        return forms

    def contacts(self) -> list[tuple[str, str]]:
        """(folded display name, address) of everyone who wrote to the user."""
        seen: dict[str, str] = {}
        for folder in RECEIVED:
            for facts in self.facts(folder):
                s = facts.summary
                if s.sender_address and s.sender_address != self.mailbox.address:
                    seen.setdefault(s.sender_address.lower(), fold(s.sender_name))
        return [(name, address) for address, name in seen.items()]

    def vocabulary(self) -> list[str]:
        """Folded subject words of the user's mail (for repairing misspelt topics)."""
        words: set[str] = set()
        for folder in RECEIVED:
            for facts in self.facts(folder):
                words.update(re.findall(r"[a-z]{4,}", fold(facts.summary.subject)))
        return sorted(words)


def _facts_of(folder: str, message: IndexedMessage, indexed: IndexedContent) -> Facts:
    """A message's facts from its index entry and its indexed content."""
    sender = indexed.hfrom.split("\n", 1)[0]
    name, address = email.utils.parseaddr(sender)
    if indexed.sent is not None:
        when = dt.datetime.fromtimestamp(indexed.sent, dt.UTC)
    else:
        when = dt.datetime.fromtimestamp(message.internaldate, dt.UTC)
    summary = MessageSummary(
        folder=folder,
        uid=message.uid,
        subject=indexed.subject,
        sender=sender,
        sender_name=name or address or sender,
        sender_address=address,
        date=when,
        flags=tuple(flag_names(message.flags)),
        size=message.size,
    )
    attachments = tuple(
        Attachment(index=i, filename=n, content_type=t, size=z)
        for i, (n, t, z) in enumerate(indexed.attachments)
    )
    body = readable(indexed.body)
    names = " ".join(a.filename for a in attachments)
    importance = fold(_field(indexed.headers, "importance"))
    urgent = bool(
        URGENT_WORDS.search(fold(indexed.subject))
        or "high" in importance
        or re.match(r"\s*[12]\b", _field(indexed.headers, "x-priority"))
    )
    listed = _field(indexed.headers, "list-unsubscribe") or _field(indexed.headers, "list-id")
    return Facts(
        summary=summary,
        words=fold(f"{summary.subject}\n{sender}\n{body}\n{names}"),
        body=body,
        to=indexed.hto.split("\n", 1)[0],
        attachments=attachments,
        urgent=urgent,
        newsletter=bool(listed),
    )


def _field(headers: str, name: str) -> str:
    """The value of a header field in the index's "Name: value" lines ("" when absent)."""
    match = re.search(rf"^{re.escape(name)}:[ \t]*(.*)$", headers, re.IGNORECASE | re.MULTILINE)
    return match.group(1).strip() if match else ""


def readable(body: str) -> str:
    """The indexed text of a message as a reader sees it: an HTML alternative is dropped
    after a plain part, and tags are removed when there is only HTML."""
    start = HTML_START.search(body)
    if start is None:
        return body
    before = body[: start.start()].strip()
    return before if before else html_to_text(body)


def _named(facts: Facts, criteria: Criteria) -> bool:
    """True when every topic is in an attachment's name (not in the full-text index)."""
    names = fold(" ".join(a.filename for a in facts.attachments))
    return bool(names) and all(topic_matches(names, t) for t in criteria.topics)
