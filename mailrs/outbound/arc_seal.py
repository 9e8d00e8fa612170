"""ARC sealing (RFC 8617 section 5.1) of mail we forward, with dkimpy.

A message that came from outside and leaves again, because an alias of ours expands to
a remote address or a user's Sieve script redirects it, fails SPF at the next hop and
may fail DKIM. Our seal (ARC-Authentication-Results, ARC-Message-Signature, ARC-Seal)
records what we checked on arrival, so the next receiver can trust that instead. It is
signed with the RSA key of the forwarding domain (the alias's domain or the redirecting
user's): RFC 8617 defines ``rsa-sha256`` only. The chain status we seal comes from the
``arc=`` of our own ``Authentication-Results:`` field.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import dkim
from sqlalchemy.orm import Session

from mailrs.accounts.domains import domain_signing_keys
from mailrs.config import ConfigError, Settings
from mailrs.db.models import Message
from mailrs.inbound.trust import authserv_id
from mailrs.outbound.dkim_keys import SigningKey

log = logging.getLogger(__name__)
SIEVE_REDIRECT_MARK = "X-Mailrs-Sieve-Redirected"
"""The header a Sieve ``redirect`` puts on its copy, naming the redirecting user."""
SEALED_HEADERS = [
    b"from",
    b"to",
    b"cc",
    b"subject",
    b"date",
    b"message-id",
    b"reply-to",
    b"in-reply-to",
    b"references",
    b"mime-version",
    b"content-type",
    b"content-transfer-encoding",
    b"dkim-signature",
]
HEAD_LIMIT = 256 * 1024


def arc_seal(data: bytes, key: SigningKey, srv_id: str) -> bytes:
    """``data`` with one more ARC set on top; unchanged when dkimpy cannot seal it.

    dkimpy seals nothing when the message has no Authentication-Results of ``srv_id``.
    """
    head = _head(data)
    include = [h for h in SEALED_HEADERS if _has(head, h)]
    try:
        fields = dkim.arc_sign(
            data,
            key.selector.encode(),
            key.domain.encode(),
            key.private,
            srv_id.encode(),
            include_headers=include or [b"from"],
        )
    except (dkim.DKIMException, ValueError) as exc:  # an unsealed copy beats no copy
        log.warning("ARC sealing for %s failed: %s", key.domain, exc)
        return data
    return b"".join(fields) + data


def seal_forwarded(session: Session, settings: Settings, message: Message, data: bytes) -> bytes:
    """Seal ``data`` when the message is forwarded mail (not a user's own submission)."""
    if message.auth_user:
        return data
    for domain in _forwarding_domains(message, data):
        key = _rsa_key(session, settings, domain)
        if key is not None:
            return arc_seal(data, key, authserv_id(settings, message))
    return data


def _forwarding_domains(message: Message, data: bytes) -> Iterable[str]:
    """The domains that may be forwarding: the redirecting user's, then the recipients'."""
    mark = SIEVE_REDIRECT_MARK.lower().encode() + b":"
    for line in _head(data).split(b"\n"):
        if line.lower().startswith(mark):
            yield line[len(mark) :].strip().decode("ascii", "replace").rpartition("@")[2].lower()
    seen = set()
    for rcpt in message.recipients:
        domain = rcpt.address.rpartition("@")[2].lower()
        if domain not in seen:
            seen.add(domain)
            yield domain


def _rsa_key(session: Session, settings: Settings, domain: str) -> SigningKey | None:
    """The RSA key the domain signs DKIM with (``mailrs domain add``), if it has one."""
    try:
        keys = domain_signing_keys(session, settings, domain)
    except ConfigError as exc:
        log.warning("ARC key of %s: %s", domain, exc)
        return None
    return next((k for k in keys if k.algorithm == b"rsa-sha256"), None)


def _head(data: bytes) -> bytes:
    end = data.find(b"\r\n\r\n", 0, HEAD_LIMIT)
    return data[: end if end >= 0 else HEAD_LIMIT]


def _has(head: bytes, name: bytes) -> bool:
    lowered = head.lower()
    return lowered.startswith(name + b":") or (b"\n" + name + b":") in lowered
