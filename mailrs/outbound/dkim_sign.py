"""DKIM signing (RFC 6376) of outgoing mail from our own domains, with dkimpy.

A domain set up with ``mailrs domain add`` has its own selector: the caller passes its
keys (``mailrs.accounts.domains.domain_signing_keys``) and the message gets one signature
per key (RSA and Ed25519). Otherwise ``relay.dkim_selector`` and ``relay.dkim_key_path``
(a PEM RSA private key) sign mail whose envelope sender's domain is one of
``smtp.local_domains``. Unconfigured, or for other senders, the bytes pass unchanged.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import dkim

from mailrs.config import Settings
from mailrs.outbound.dkim_keys import SigningKey

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


def dkim_sign(
    settings: Settings, sender: str, data: bytes, keys: Sequence[SigningKey] = ()
) -> bytes:
    """``data`` with DKIM-Signature fields prepended when the sender's domain is ours.

    ``keys`` are the sender domain's own keys; without them the ``[relay]`` key signs.
    """
    domain = sender.rpartition("@")[2].lower()
    if not domain:
        return data
    if keys:
        signatures = [
            _signature(data, key.selector, key.domain, key.private, key.algorithm)
            for key in keys
            if key.domain == domain
        ]
        return b"".join(signatures) + data
    relay = settings.relay
    if not relay.dkim_selector or domain not in settings.smtp.local_domains:
        return data
    try:
        private = _key(relay.dkim_key_path)
    except OSError as exc:
        log.warning("DKIM key %s unreadable: %s", relay.dkim_key_path, exc)
        return data
    return _signature(data, relay.dkim_selector, domain, private, b"rsa-sha256") + data


def _signature(data: bytes, selector: str, domain: str, private: bytes, algorithm: bytes) -> bytes:
    """One DKIM-Signature field, or nothing when signing fails (unsigned mail beats no mail)."""
    try:
        return dkim.sign(
            data,
            selector.encode(),
            domain.encode(),
            private,
            signature_algorithm=algorithm,
            include_headers=[h for h in SIGNED_HEADERS if _has_header(data, h)] or [b"from"],
        )
    except dkim.DKIMException as exc:
        log.warning("DKIM signing for %s (%s) failed: %s", domain, selector, exc)
        return b""


def _has_header(data: bytes, name: bytes) -> bool:
    head = data.split(b"\r\n\r\n", 1)[0].lower()
    return head.startswith(name + b":") or (b"\n" + name + b":") in head
