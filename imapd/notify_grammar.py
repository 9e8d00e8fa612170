"""The NOTIFY grammar (RFC 5465 section 8) on the cursor.

``NOTIFY NONE`` or ``NOTIFY SET [STATUS] (filter events) ...``: each event group names
its mailboxes (``selected``, ``selected-delayed``, ``inboxes``, ``personal``,
``subscribed``, ``subtree m...``, ``mailboxes m...``) and the events wanted there, or
NONE. The rules between events (MessageNew needs MessageExpunge, FlagChange needs both,
a FETCH list only for the selected mailbox) are checked here; events the server does
not offer are left for the handler to refuse with ``NO [BADEVENT]``.
"""

from __future__ import annotations

from imapd import arguments
from imapd.cursor import Cursor
from imapd.parsed import FetchItem, NotifyArgs, NotifyGroup

SELECTED_FILTERS = ("SELECTED", "SELECTED-DELAYED")
OTHER_FILTERS = ("INBOXES", "PERSONAL", "SUBSCRIBED", "SUBTREE", "MAILBOXES")
EVENT_NAMES = {
    name.upper(): name
    for name in (
        "MessageNew",
        "MessageExpunge",
        "FlagChange",
        "AnnotationChange",
        "MailboxName",
        "SubscriptionChange",
        "MailboxMetadataChange",
        "ServerMetadataChange",
    )
}
MAX_GROUPS = 32
_WORD = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-")


def _mailboxes(cur: Cursor) -> tuple[str, ...]:
    cur.sp()
    if not cur.maybe("("):
        return (cur.astring("a mailbox name"),)
    names = [cur.astring("a mailbox name")]
    while cur.maybe(" "):
        names.append(cur.astring("a mailbox name"))
    cur.char(")", "expected ')' after the mailbox names")
    return tuple(names)


def _events(cur: Cursor, selected: bool) -> tuple[tuple[str, ...], tuple[FetchItem, ...]]:
    if not cur.maybe("("):
        if cur.take(_WORD, "an event list or NONE").upper() != "NONE":
            raise cur.error("expected an event list or NONE")
        return (), ()
    events: list[str] = []
    fetch: tuple[FetchItem, ...] = ()
    while True:
        word = cur.take(_WORD, "an event").upper()
        name = EVENT_NAMES.get(word, word)
        if name in events:
            raise cur.error(f"event {name[:40]} named twice")
        events.append(name)
        if name == "MessageNew" and cur.peek() == ord(" ") and cur.data[cur.pos + 1 :][:1] == b"(":
            if not selected:
                raise cur.error("MessageNew fetch attributes are for the selected mailbox only")
            cur.sp()
            fetch = arguments.fetch_attributes(cur)
        if not cur.maybe(" "):
            break
    cur.char(")", "expected ')' after the events")
    if ("MessageNew" in events) != ("MessageExpunge" in events):
        raise cur.error("MessageNew and MessageExpunge go together")
    if {"FlagChange", "AnnotationChange"} & set(events) and "MessageNew" not in events:
        raise cur.error("FlagChange needs MessageNew and MessageExpunge")
    return tuple(events), fetch


def _group(cur: Cursor) -> NotifyGroup:
    cur.char("(", "expected '(' before an event group")
    kind = cur.take(_WORD, "a mailbox filter").upper()
    mailboxes: tuple[str, ...] = ()
    if kind in ("SUBTREE", "MAILBOXES"):
        mailboxes = _mailboxes(cur)
    elif kind not in SELECTED_FILTERS + OTHER_FILTERS:
        raise cur.error(f"unknown mailbox filter {kind[:40]}")
    cur.sp()
    events, fetch = _events(cur, kind in SELECTED_FILTERS)
    cur.char(")", "expected ')' after an event group")
    return NotifyGroup(kind, mailboxes, events, fetch)


def parse_notify(cur: Cursor) -> NotifyArgs:
    """``NOTIFY NONE`` / ``NOTIFY SET [STATUS] event-group...``."""
    cur.sp()
    word = cur.take(_WORD, "SET or NONE").upper()
    if word == "NONE":
        cur.end()
        return NotifyArgs(None)
    if word != "SET":
        raise cur.error("expected SET or NONE")
    cur.sp()
    status = False
    if cur.peek() != ord("("):
        if cur.take(_WORD, "STATUS or an event group").upper() != "STATUS":
            raise cur.error("expected STATUS or an event group")
        status = True
        cur.sp()
    groups = [_group(cur)]
    while cur.maybe(" "):
        groups.append(_group(cur))
        if len(groups) > MAX_GROUPS:
            raise cur.error("too many event groups")
    cur.end()
    if sum(g.kind in SELECTED_FILTERS for g in groups) > 1:
        raise cur.error("the selected mailbox is named twice")
    return NotifyArgs(tuple(groups), status)
