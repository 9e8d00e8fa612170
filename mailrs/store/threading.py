"""Base subjects and conversation threads (RFC 5256): pure functions over header values.

``base_subject`` is the subject with its reply/forward decorations removed (section
2.1); ``thread_orderedsubject`` and ``thread_references`` build the threads of the
THREAD command (sections 3 and 4 of RFC 5256, the latter after JWZ's algorithm). They
work on ``ThreadMessage`` values that any caller can make from a message's cached
headers, so IMAP's THREAD and the webmail's conversation view agree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_WSP = re.compile(r"[ \t\r\n]+")
_BLOB = r"\[[^\[\]]*\][ \t]*"
_REFWD = re.compile(rf"^(?:{_BLOB})*(?:re|fwd?)[ \t]*(?:{_BLOB})?:", re.IGNORECASE)
_LEADING_BLOB = re.compile(rf"^{_BLOB}")
_MSG_ID = re.compile(r"<([^<>\s]+)>")


@dataclass(frozen=True)
class Subject:
    """A base subject and whether reply/forward text was removed to find it."""

    base: str
    is_reply: bool


def extract_subject(subject: str) -> Subject:
    """The base subject (RFC 5256 section 2.1) of a decoded subject."""
    text = _WSP.sub(" ", subject)
    reply = False
    while True:
        # (2) trailing "(fwd)" and white space
        while True:
            stripped = text.rstrip(" ")
            if stripped.lower().endswith("(fwd)"):
                text, reply = stripped[:-5], True
            else:
                text = stripped
                break
        # (3)-(5) leading white space, "re:"-style leaders and removable blobs
        while True:
            before = text
            text = text.lstrip(" ")
            match = _REFWD.match(text)
            if match:
                text, reply = text[match.end() :], True
                continue
            blob = _LEADING_BLOB.match(text)
            if blob and text[blob.end() :].strip(" "):
                text = text[blob.end() :]
            if text == before:
                break
        # (6) "[fwd: ...]" wrappers
        if text.lower().startswith("[fwd:") and text.endswith("]"):
            text, reply = text[5:-1], True
            continue
        return Subject(text, reply)


def base_subject(subject: str) -> str:
    """The base subject of a decoded subject (RFC 5256 section 2.1)."""
    return extract_subject(subject).base


def subject_key(subject: str) -> str:
    """A base subject folded for i;ascii-casemap comparison."""
    return base_subject(subject).translate(_UPPER)


_UPPER = {c: c - 32 for c in range(ord("a"), ord("z") + 1)}


def message_ids(text: str) -> list[str]:
    """Every ``<id>`` in a Message-ID, In-Reply-To or References value, in order."""
    return _MSG_ID.findall(text)


@dataclass(frozen=True)
class ThreadMessage:
    """What threading needs from one message; ``key`` is what the threads are made of."""

    key: int
    subject: str
    message_id: str  # the raw Message-ID value
    references: str = ""  # the raw References value
    in_reply_to: str = ""  # the raw In-Reply-To value
    date: float = 0.0  # the sent date (the caller falls back to the arrival date)
    order: int = 0  # ties in date are broken by this (the mailbox order)


@dataclass(eq=False)
class ThreadNode:
    """One message in a thread (``key`` None: a missing message holding its replies)."""

    key: int | None
    children: list[ThreadNode] = field(default_factory=list)


def _by_date(message: ThreadMessage) -> tuple[float, int]:
    return (message.date, message.order)


def thread_orderedsubject(messages: list[ThreadMessage]) -> list[ThreadNode]:
    """THREAD=ORDEREDSUBJECT: messages grouped by base subject, each group one level deep."""
    groups: dict[str, list[ThreadMessage]] = {}
    for message in sorted(messages, key=lambda m: (subject_key(m.subject), *_by_date(m))):
        groups.setdefault(subject_key(message.subject), []).append(message)
    threads = sorted(groups.values(), key=lambda group: _by_date(group[0]))
    return [ThreadNode(group[0].key, [ThreadNode(m.key) for m in group[1:]]) for group in threads]


@dataclass(eq=False)
class _Container:
    message: ThreadMessage | None = None
    parent: _Container | None = None
    children: list[_Container] = field(default_factory=list)

    def reaches(self, other: _Container) -> bool:
        """True when ``other`` is this container or one of its descendants."""
        stack = [self]
        while stack:
            node = stack.pop()
            if node is other:
                return True
            stack.extend(node.children)
        return False

    def unlink(self) -> None:
        if self.parent is not None:
            self.parent.children.remove(self)
            self.parent = None

    def adopt(self, child: _Container) -> None:
        child.unlink()
        child.parent = self
        self.children.append(child)


def _sort_key(container: _Container) -> tuple[float, int]:
    message = container.message
    if message is None:  # a dummy sorts as its first child
        return _sort_key(container.children[0]) if container.children else (0.0, 0)
    return _by_date(message)


def _link(messages: list[ThreadMessage]) -> list[_Container]:
    """Step 1 and 2: containers for every message and reference; the roots."""
    table: dict[str, _Container] = {}

    def container_for(message_id: str) -> _Container:
        if message_id not in table:
            table[message_id] = _Container()
        return table[message_id]

    for number, message in enumerate(messages):
        ids = message_ids(message.message_id)
        own_id = ids[0] if ids else ""
        if not own_id or (own_id in table and table[own_id].message is not None):
            own_id = f"\0unique{number}"  # missing or duplicate Message-ID
        own = container_for(own_id)
        own.message = message
        references = message_ids(message.references)
        if not references:
            references = message_ids(message.in_reply_to)[:1]
        previous: _Container | None = None
        for reference in references:
            current = container_for(reference)
            if (
                previous is not None
                and current.parent is None
                and not current.reaches(previous)
                and current is not previous
            ):
                previous.adopt(current)
            previous = current
        own.unlink()
        if previous is not None and previous is not own and not own.reaches(previous):
            previous.adopt(own)
    return [c for c in table.values() if c.parent is None]


def _prune(siblings: list[_Container], at_root: bool) -> list[_Container]:
    """Step 4: drop empty dummies and splice dummies' children into their place."""
    kept: list[_Container] = []
    for container in siblings:
        container.children = _prune(container.children, False)
        for child in container.children:
            child.parent = container
        if container.message is not None:
            kept.append(container)
        elif not container.children:
            continue
        elif at_root and len(container.children) > 1:
            kept.append(container)
        else:
            kept.extend(container.children)
    return kept


def _group_by_subject(roots: list[_Container]) -> list[_Container]:
    """Step 6: roots with the same base subject gathered under one container."""

    def subject_of(container: _Container) -> Subject:
        message = container.message or container.children[0].message
        return extract_subject(message.subject if message else "")

    table: dict[str, _Container] = {}
    for root in roots:
        subject = subject_of(root)
        key = subject.base.translate(_UPPER)
        if not key:
            continue
        old = table.get(key)
        if (
            old is None
            or (old.message is not None and root.message is None)
            or (subject_of(old).is_reply and not subject.is_reply)
        ):
            table[key] = root
    order = list(roots)
    for root in roots:
        if root.parent is not None:  # already gathered under another root
            continue
        subject = subject_of(root)
        key = subject.base.translate(_UPPER)
        holder = table.get(key) if key else None
        if holder is None or holder is root:
            continue
        if holder.message is None and root.message is None:
            for child in list(root.children):
                holder.adopt(child)
        elif holder.message is None:
            holder.adopt(root)
        elif root.message is None:
            root.adopt(holder)
            table[key] = root
        elif subject.is_reply and not subject_of(holder).is_reply:
            holder.adopt(root)
        else:
            dummy = _Container()
            order[order.index(holder)] = dummy
            dummy.adopt(holder)
            dummy.adopt(root)
            table[key] = dummy
    return [c for c in order if c.parent is None and (c.message is not None or c.children)]


def _sort_tree(siblings: list[_Container]) -> None:
    for container in siblings:
        _sort_tree(container.children)
    siblings.sort(key=_sort_key)


def _nodes(containers: list[_Container]) -> list[ThreadNode]:
    return [
        ThreadNode(c.message.key if c.message else None, _nodes(c.children)) for c in containers
    ]


def thread_references(messages: list[ThreadMessage]) -> list[ThreadNode]:
    """THREAD=REFERENCES (RFC 5256 section 3): threads by References/In-Reply-To, then subject."""
    roots = _prune(_link(messages), True)
    for root in roots:
        root.parent = None
    _sort_tree(roots)
    roots = _group_by_subject(roots)
    _sort_tree(roots)
    return _nodes(roots)
