"""URLAUTH's INTERNAL mechanism and access rules (RFC 4467 sections 3, 7 and 9).

The token of a rump URL is ``01`` + HMAC-SHA256 of the rump under the mailbox access
key, with the mailbox's UIDVALIDITY mixed in: a mailbox deleted and made again under
the same name (a new UIDVALIDITY) does not honour the URLs of the old one. Who may use
an authorized URL is decided by its access identifier alone. Pure: no I/O.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from imapd.imap_url import ImapUrl

MECHANISM = "INTERNAL"
_VERSION = "01"


def token(secret: bytes, uidvalidity: int, rump: str) -> str:
    """The hex token that authorizes ``rump`` under ``secret``."""
    mac = hmac.new(secret, b"%d\0" % uidvalidity + rump.encode(), hashlib.sha256)
    return _VERSION + mac.hexdigest()


def verify(secret: bytes | None, uidvalidity: int, url: ImapUrl) -> bool:
    """True when the URL's token is the one its rump gets under ``secret``.

    With no key (no such mailbox, or reset), a random one is used so that the time
    taken does not tell a missing mailbox from a wrong token (RFC 4467 section 9).
    """
    if url.rump is None or url.token is None:
        return False
    key = secret if secret is not None else secrets.token_bytes(32)
    good = hmac.compare_digest(token(key, uidvalidity, url.rump), url.token.lower())
    return good and secret is not None


def may_fetch(url: ImapUrl, session_user: str | None) -> bool:
    """True when the session (``None``: anonymous) may fetch an authorized URL.

    ``authuser``: any logged-in user; ``anonymous``: anyone; ``user+id``: only that
    user. ``submit+id`` is for a message submission server acting for ``id`` (BURL,
    RFC 4468), which mailrs does not run: no IMAP session may use it.
    """
    kind = url.access_kind
    if kind == "anonymous":
        return True
    if session_user is None:
        return False
    if kind == "authuser":
        return True
    if kind == "user":
        wanted = (url.access_user or "").lower()
        if "@" not in wanted:
            wanted = f"{wanted}@{url.host}"
        return wanted == session_user.lower()
    return False
