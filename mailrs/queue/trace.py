"""The ``Received:`` trace header of an accepted message (RFC 5321 section 4.4).

Built from what smtpd recorded on the ``messages`` row: the client's HELO name and
address, the protocol (``ESMTP``, ``ESMTPS``, ``ESMTPSA``, ``UTF8SMTPS``, ... as registered
by RFC 3848 and RFC 6531), the TLS version and cipher, and the authenticated user.
"""

from __future__ import annotations

import email.utils
import re

from mailrs.db.models import Message

_UNSAFE = re.compile(r"[^!-~]|[()\\;]")


def protocol_name(extended: bool, utf8: bool, tls: bool, authenticated: bool) -> str:
    """The ``with`` keyword for a session: SMTP, ESMTP[S][A] or UTF8SMTP[S][A]."""
    if not extended:
        return "SMTP"
    base = "UTF8SMTP" if utf8 else "ESMTP"
    return base + ("S" if tls else "") + ("A" if authenticated else "")


def _token(text: str) -> str:
    """Client-supplied text made safe for a header comment or atom (visible ASCII only)."""
    return _UNSAFE.sub("?", text)[:255]


def _tls_comment(tls: str) -> str:
    """``(using TLSv1.3 with cipher X (256 bits))`` from the stored ``version cipher bits``."""
    parts = tls.split()
    if len(parts) < 2:
        return f"(using {_token(tls)})"
    bits = f" ({_token(parts[2])} bits)" if len(parts) > 2 else ""
    return f"(using {_token(parts[0])} with cipher {_token(parts[1])}{bits})"


def received_header(message: Message, hostname: str) -> str:
    """A Received: trace header (RFC 5321 section 4.4) for a message, CRLF-terminated."""
    client = _token(message.client_addr or "unknown")
    helo = _token(message.helo or client)
    with_proto = message.protocol or ("ESMTPA" if message.auth_user else "ESMTP")
    comments = ""
    if message.tls:
        comments += f"\r\n\t{_tls_comment(message.tls)}"
    if message.auth_user:
        comments += f"\r\n\t(Authenticated sender: {_token(message.auth_user)})"
    rcpt = message.recipients[0].address if len(message.recipients) == 1 else None
    for_clause = f"\r\n\tfor <{_token(rcpt)}>" if rcpt else ""
    date = email.utils.format_datetime(message.received_at)
    return (
        f"Received: from {helo} ([{client}]){comments}\r\n\tby {hostname} (mailrs)"
        f" with {with_proto} id {message.queue_id}{for_clause};\r\n\t{date}\r\n"
    )
