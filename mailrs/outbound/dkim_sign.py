"""DKIM signing (RFC 6376) of outgoing mail from our own domains, with dkimpy.

Configured by ``relay.dkim_selector`` and ``relay.dkim_key_path`` (a PEM RSA or Ed25519
private key); the signing domain is the envelope sender's domain, which must be one of
``smtp.local_domains``. Unconfigured, or for other senders, the bytes pass unchanged.
"""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path

import dkim

from mailrs.config import Settings

log = logging.getLogger(__name__)
SIGNED_HEADERS = [
    b"from",
    b"to",
    b"cc",
    b"subject",
    b"date",
    b"message-id",
    b"reply-to",
    b"mime-version",
    b"content-type",
    b"content-transfer-encoding",
    b"in-reply-to",
    b"references",
]


@cache
def _key(path: str) -> bytes:
    return Path(path).read_bytes()


def dkim_sign(settings: Settings, sender: str, data: bytes) -> bytes:
    """``data`` with a DKIM-Signature header prepended when the sender's domain is ours."""
    relay = settings.relay
    domain = sender.rpartition("@")[2].lower()
    if not relay.dkim_selector or not domain or domain not in settings.smtp.local_domains:
        return data
    try:
        signature = dkim.sign(
            data,
            relay.dkim_selector.encode(),
            domain.encode(),
            _key(relay.dkim_key_path),
            include_headers=[h for h in SIGNED_HEADERS if _has_header(data, h)] or [b"from"],
        )
    except (OSError, dkim.DKIMException) as exc:  # unsigned mail beats no mail
        log.warning("DKIM signing for %s failed: %s", domain, exc)
        return data
    return signature + data


def _has_header(data: bytes, name: bytes) -> bool:
    head = data.split(b"\r\n\r\n", 1)[0].lower()
    return head.startswith(name + b":") or (b"\n" + name + b":") in head
