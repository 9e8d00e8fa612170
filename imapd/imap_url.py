"""Absolute IMAP URLs that name one message or part, with URLAUTH (RFC 5092, RFC 4467).

``imap://user@host[:port]/mailbox[;UIDVALIDITY=n]/;UID=n[/;SECTION=s][/;PARTIAL=a[.b]]
[;EXPIRE=date-time];URLAUTH=access[:mechanism:token]``. Keywords are case-insensitive;
the mailbox is percent-encoded UTF-8. The *rump* is the URL up to and including the
access identifier: what a token signs, exactly as the client wrote it. Pure: no I/O.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from urllib.parse import unquote

MAX_URL = 8192
_URL = re.compile(
    r"imap://(?:(?P<user>[^@/;:]+)(?:;AUTH=[^@/]+)?@)?(?P<host>[^/:@]+)(?::(?P<port>[0-9]{1,5}))?"
    r"/(?P<mailbox>[^;/]+(?:/[^;/]+)*?)(?:;UIDVALIDITY=(?P<uidvalidity>[1-9][0-9]{0,9}))?"
    r"/;UID=(?P<uid>[1-9][0-9]{0,9})(?:/;SECTION=(?P<section>[^/;]+))?"
    r"(?:/;PARTIAL=(?P<start>[0-9]{1,10})(?:\.(?P<length>[1-9][0-9]{0,9}))?)?"
    r"(?P<auth>(?:;EXPIRE=(?P<expire>[^;]+))?;URLAUTH=(?P<access>[^:;/]+))?"
    r"(?::(?P<mechanism>[A-Za-z0-9._-]+):(?P<token>[0-9A-Fa-f]{32,}))?",
    re.IGNORECASE,
)
ACCESS_PLAIN = ("authuser", "anonymous")
ACCESS_WITH_USER = ("user", "submit")


class BadUrl(ValueError):
    """Not an IMAP URL this server can use (syntax, or a missing or malformed part)."""


@dataclass(frozen=True)
class ImapUrl:
    """The parts of an absolute IMAP URL naming a message or part, URLAUTH included."""

    text: str
    owner: str  # the mailbox owner: iuserinfo, with "@host" added when it has no domain
    host: str
    port: int | None
    mailbox: str  # decoded (UTF-8), as the user would name it
    uidvalidity: int | None
    uid: int
    section: str  # decoded, without brackets ("" for the whole message)
    partial: tuple[int, int | None] | None
    expire: dt.datetime | None
    access: str | None  # "authuser", "anonymous", "user+<id>", "submit+<id>"
    mechanism: str | None
    token: str | None
    rump: str | None  # the text up to and including ";URLAUTH=access"

    @property
    def access_kind(self) -> str:
        """``user``, ``submit``, ``authuser`` or ``anonymous`` (lower case)."""
        assert self.access is not None
        return self.access.split("+", 1)[0].lower()

    @property
    def access_user(self) -> str | None:
        """The userid of ``user+`` and ``submit+`` access (decoded), else None."""
        assert self.access is not None
        if "+" not in self.access:
            return None
        return unquote(self.access.split("+", 1)[1])

    def expired(self, now: dt.datetime) -> bool:
        """True when ``;EXPIRE=`` is in the past at ``now`` (aware UTC)."""
        return self.expire is not None and now >= self.expire


def _expire(text: str) -> dt.datetime:
    try:
        when = dt.datetime.fromisoformat(unquote(text).replace("z", "Z"))
    except ValueError:
        raise BadUrl("bad ;EXPIRE date-time") from None
    if when.tzinfo is None:
        raise BadUrl(";EXPIRE needs a time zone")  # RFC 3339 date-time always has one
    return when


def parse(text: str) -> ImapUrl:
    """An absolute IMAP URL; raises BadUrl."""
    if len(text) > MAX_URL or any(ord(c) < 0x21 or ord(c) > 0x7E for c in text):
        raise BadUrl("not a URL")
    match = _URL.fullmatch(text)
    if match is None:
        raise BadUrl("not an IMAP URL naming a message")
    user = match.group("user")
    if user is None:
        raise BadUrl("the URL names no user")
    host = unquote(match.group("host")).lower()
    try:
        owner = unquote(user, errors="strict")
        mailbox = unquote(match.group("mailbox"), errors="strict")
        section = unquote(match.group("section") or "", errors="strict")
    except UnicodeDecodeError:
        raise BadUrl("bad percent-encoding") from None
    if "@" not in owner:
        owner = f"{owner}@{host}"
    access = match.group("access")
    if access is not None:
        kind = access.split("+", 1)[0].lower()
        if kind in ACCESS_PLAIN and "+" in access:
            raise BadUrl(f"{kind} access takes no userid")
        if kind in ACCESS_WITH_USER and not access.partition("+")[2]:
            raise BadUrl(f"{kind}+ access needs a userid")
    if match.group("mechanism") is not None and access is None:
        raise BadUrl("a URLAUTH verifier without ;URLAUTH=")
    partial = None
    if match.group("start") is not None:
        length = match.group("length")
        partial = (int(match.group("start")), int(length) if length else None)
    port = match.group("port")
    return ImapUrl(
        text=text,
        owner=owner.lower(),
        host=host,
        port=int(port) if port else None,
        mailbox=mailbox,
        uidvalidity=int(match.group("uidvalidity")) if match.group("uidvalidity") else None,
        uid=int(match.group("uid")),
        section=section,
        partial=partial,
        expire=_expire(match.group("expire")) if match.group("expire") else None,
        access=access,
        mechanism=match.group("mechanism"),
        token=match.group("token"),
        rump=text[: match.end("access")] if access is not None else None,
    )
