"""Conversations: a folder's messages grouped by References / In-Reply-To, subject as fallback.

The grouping reads the header blocks the full-text index keeps (``header_text``),
never the message files: the first view of a folder parses its messages into the index
once, as IMAP SEARCH does; later views cost one pass over cached rows plus the first
16 KiB of each row shown (its snippet). A message joins the conversation of any
Message-ID it names in ``References`` or ``In-Reply-To``; one that names none found
here joins by its subject when the subject reads as a reply (``Re:``, ``Fwd:``...).
"""

from __future__ import annotations

import email.utils
import re
from collections.abc import Iterable
from dataclasses import dataclass

from mailrs.errors import MessageNotFound
from mailrs.store.records import IndexedMessage, MessageRef
from web.mailservice.errors import NotFound
from web.mailservice.mailbox import SENT, MessageSummary, UserMailbox, folder_name
from web.mailservice.reading import body_text, html_to_text, parse

SNIPPET_CHARS = 140
SNIPPET_BYTES = 16 * 1024  # a snippet reads at most this much of a message
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")
_REPLY_PREFIX = re.compile(r"^\s*((re|fwd?|aw|tr|sv|wg|antw|réf)\s*(\[\d+\])?\s*:\s*)+", re.I)


@dataclass(frozen=True)
class Head:
    """What threading needs of one message, from its indexed header block."""

    uid: int
    message_id: str
    parents: tuple[str, ...]
    subject: str
    to: str
    attachment: bool

    @property
    def base_subject(self) -> str:
        """The subject without reply/forward prefixes, lower-cased."""
        return " ".join(_REPLY_PREFIX.sub("", self.subject).split()).lower()

    @property
    def is_reply(self) -> bool:
        """True when the subject carries a reply or forward prefix."""
        return _REPLY_PREFIX.match(self.subject) is not None


def head_of(uid: int, headers: str) -> Head:
    """A Head from an indexed header block (``Name: value`` lines, decoded)."""
    fields: dict[str, list[str]] = {}
    for line in headers.split("\n"):
        name, _, value = line.partition(":")
        fields.setdefault(name.strip().lower(), []).append(value.strip())

    def first(name: str) -> str:
        return fields.get(name, [""])[0]

    ids = _MESSAGE_ID.findall(first("message-id"))
    parents = _MESSAGE_ID.findall(" ".join(fields.get("references", [])))
    parents += _MESSAGE_ID.findall(first("in-reply-to"))
    ctype = first("content-type").lower()
    return Head(
        uid=uid,
        message_id=ids[0] if ids else "",
        parents=tuple(dict.fromkeys(parents)),
        subject=first("subject"),
        to=first("to"),
        attachment=ctype.startswith("multipart/mixed"),
    )


def group(heads: Iterable[Head]) -> list[list[int]]:
    """The UIDs of each conversation (each list in UID order), by references then subject."""
    heads = list(heads)
    parent = {h.uid: h.uid for h in heads}

    def root(uid: int) -> int:
        while parent[uid] != uid:
            parent[uid] = parent[parent[uid]]
            uid = parent[uid]
        return uid

    def join(a: int, b: int) -> None:
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    by_id: dict[str, int] = {}
    for head in heads:
        if head.message_id:
            by_id.setdefault(head.message_id, head.uid)
    by_subject: dict[str, int] = {}
    for head in sorted(heads, key=lambda h: h.uid):
        linked = [by_id[p] for p in head.parents if p in by_id]
        for other in linked:
            join(head.uid, other)
        base = head.base_subject
        if not linked and head.is_reply and base in by_subject:
            join(head.uid, by_subject[base])
        if base:
            by_subject.setdefault(base, head.uid)
    groups: dict[int, list[int]] = {}
    for head in sorted(heads, key=lambda h: h.uid):
        groups.setdefault(root(head.uid), []).append(head.uid)
    return list(groups.values())


@dataclass(frozen=True)
class Conversation:
    """One row of the conversation list: its newest message and what the others add."""

    folder: str
    uids: tuple[int, ...]
    latest: MessageSummary
    subject: str
    people: str
    snippet: str
    unread: int
    flagged: bool
    attachment: bool

    @property
    def count(self) -> int:
        """How many messages the conversation has in this folder."""
        return len(self.uids)


@dataclass(frozen=True)
class ConversationPage:
    """A page of conversations, newest activity first."""

    folder: str
    conversations: list[Conversation]
    total: int
    page: int
    per_page: int
    messages: int

    @property
    def pages(self) -> int:
        """How many pages there are (at least one)."""
        return max(1, -(-self.total // self.per_page))


def indexed_heads(
    mailbox: UserMailbox, folder: str
) -> tuple[dict[int, IndexedMessage], dict[int, Head], dict[int, float]]:
    """The folder's messages, their heads and their dates, from the index."""
    messages = {m.uid: m for m in mailbox.messages(folder)}
    service = mailbox.service
    service.ensure_content(folder, [MessageRef.of(m) for m in messages.values()])
    texts = service.header_text(folder)
    heads = {uid: head_of(uid, texts.get(uid, "")) for uid in messages}
    dates = {uid: m.internaldate for uid, m in messages.items()}  # arrival, as the list
    return messages, heads, dates


def snippet(raw: bytes) -> str:
    """The first words of a message's body text (from its first bytes), quotes left out."""
    text, html = body_text(parse(raw))
    if not text.strip() and html:
        text = html_to_text(html)
    lines = [line for line in text.splitlines() if not line.lstrip().startswith(">")]
    flat = " ".join(" ".join(lines).split())
    return flat if len(flat) <= SNIPPET_CHARS else flat[: SNIPPET_CHARS - 1] + "…"


def _names(addresses: str) -> str:
    """Display names (or addresses) of an address list, comma separated."""
    pairs = email.utils.getaddresses([addresses])
    return ", ".join(name or address for name, address in pairs if name or address)


def _conversation(
    mailbox: UserMailbox,
    folder: str,
    uids: list[int],
    messages: dict[int, IndexedMessage],
    heads: dict[int, Head],
) -> Conversation | None:
    newest = messages[uids[-1]]
    try:
        latest = mailbox.summary(folder, newest)
        head = mailbox.service.read_head(folder, newest.key, newest.filename, SNIPPET_BYTES)
        text = snippet(head)
    except (MessageNotFound, NotFound):
        return None
    if folder == SENT:
        people = _names(heads[newest.uid].to) or "(no recipient)"
    else:
        senders = []
        for uid in uids:
            try:
                name = mailbox.summary(folder, messages[uid]).sender_name
            except MessageNotFound:
                continue
            if name and name not in senders:
                senders.append(name)
        people = ", ".join(senders[-3:]) or "(unknown sender)"
    first_subject = heads[uids[0]].subject or latest.subject
    return Conversation(
        folder=folder,
        uids=tuple(uids),
        latest=latest,
        subject=_REPLY_PREFIX.sub("", first_subject).strip() or first_subject,
        people=people,
        snippet=text,
        unread=sum("S" not in messages[u].flags for u in uids),
        flagged=any("F" in messages[u].flags for u in uids),
        attachment=any(heads[u].attachment for u in uids),
    )


def conversation_page(
    mailbox: UserMailbox, folder: str, page: int = 1, per_page: int = 20
) -> ConversationPage:
    """One page of a folder's conversations, newest activity first; ``page`` is clamped."""
    name = folder_name(folder)
    messages, heads, dates = indexed_heads(mailbox, name)
    groups = group(heads.values())
    for uids in groups:
        uids.sort(key=lambda uid: (dates[uid], uid))
    groups.sort(key=lambda uids: (dates[uids[-1]], uids[-1]), reverse=True)
    pages = max(1, -(-len(groups) // per_page))
    page = min(max(1, page), pages)
    rows = []
    for uids in groups[(page - 1) * per_page : page * per_page]:
        row = _conversation(mailbox, name, uids, messages, heads)
        if row is not None:
            rows.append(row)
    return ConversationPage(name, rows, len(groups), page, per_page, len(messages))


def thread_of(mailbox: UserMailbox, folder: str, uid: int) -> list[tuple[str, int]]:
    """(folder, UID) of every message of the conversation of ``uid``, oldest first.

    Outside Sent, the user's own replies kept in Sent are part of it too.
    """
    name = folder_name(folder)
    messages, heads, dates = indexed_heads(mailbox, name)
    if uid not in messages:
        raise NotFound(f"no message {uid} in {name!r}")
    uids = next(g for g in group(heads.values()) if uid in g)
    found = [(dates[u], name, u) for u in uids]
    if name != SENT and SENT in {info.name for info in mailbox.folders()}:
        ids = {heads[u].message_id for u in uids if heads[u].message_id}
        ids |= {p for u in uids for p in heads[u].parents}
        _, sent_heads, sent_dates = indexed_heads(mailbox, SENT)
        for head in sent_heads.values():
            if head.message_id in ids or ids.intersection(head.parents):
                found.append((sent_dates[head.uid], SENT, head.uid))
    found.sort()
    return [(where, number) for _, where, number in found]
