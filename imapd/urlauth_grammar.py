"""The URLAUTH command grammar (RFC 4467 section 9, RFC 5524 section 6) on the cursor.

``GENURLAUTH 1*(SP url-rump SP mechanism)``, ``RESETKEY [SP mailbox *(SP mechanism)]``
and ``URLFETCH 1*(SP url / SP "(" url *(SP param) ")")`` with the parameters BODY,
BINARY and BODYPARTSTRUCTURE (BODY and BINARY not together).
"""

from __future__ import annotations

from imapd.cursor import Cursor
from imapd.parsed import GenUrlauthArgs, ResetKeyArgs, UrlFetch, UrlFetchArgs

MAX_URLS = 100
FETCH_PARAMS = ("BODY", "BINARY", "BODYPARTSTRUCTURE")


def parse_genurlauth(cur: Cursor) -> GenUrlauthArgs:
    """GENURLAUTH's (rump, mechanism) pairs."""
    pairs = []
    while True:
        cur.sp()
        rump = cur.astring("a URL")
        cur.sp()
        pairs.append((rump, cur.atom()))
        if len(pairs) > MAX_URLS:
            raise cur.error("too many URLs")
        if cur.at_end():
            break
    return GenUrlauthArgs(tuple(pairs))


def parse_resetkey(cur: Cursor) -> ResetKeyArgs:
    """RESETKEY's optional mailbox and mechanisms."""
    if cur.at_end():
        return ResetKeyArgs(None)
    cur.sp()
    mailbox = cur.astring("a mailbox name")
    mechanisms = []
    while not cur.at_end():
        cur.sp()
        mechanisms.append(cur.atom())
        if len(mechanisms) > MAX_URLS:
            raise cur.error("too many mechanisms")
    return ResetKeyArgs(mailbox, tuple(mechanisms))


def _fetch_item(cur: Cursor) -> UrlFetch:
    if not cur.maybe("("):
        return UrlFetch(cur.astring("a URL"))
    url = cur.astring("a URL")
    params: list[str] = []
    while cur.maybe(" "):
        word = cur.atom().upper()
        if word not in FETCH_PARAMS:
            raise cur.error(f"unknown URLFETCH parameter {word[:40]}")
        params.append(word)
    cur.char(")", "expected ')' after the URLFETCH parameters")
    if "BODY" in params and "BINARY" in params:
        raise cur.error("BODY and BINARY together")
    return UrlFetch(url, tuple(params) or ("BODY",))


def parse_urlfetch(cur: Cursor) -> UrlFetchArgs:
    """URLFETCH's URLs, plain or with parameters."""
    urls = []
    while True:
        cur.sp()
        urls.append(_fetch_item(cur))
        if len(urls) > MAX_URLS:
            raise cur.error("too many URLs")
        if cur.at_end():
            break
    return UrlFetchArgs(tuple(urls))
