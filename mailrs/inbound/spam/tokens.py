"""The tokens the Bayesian classifier counts: words of the subject and body, header clues.

Header tokens carry the field's name (``subject:cheap``, ``from:example.com``) so the
same word counts apart in the subject and the body; the body's text parts are decoded
(quoted-printable, base64, charsets), HTML tags are dropped, URLs give their host.
Only the first ``MAX_BODY`` characters are read and each token is counted once per
message, as SpamBayes does.
"""

from __future__ import annotations

import re
from email import message_from_bytes
from email.message import Message
from email.policy import compat32

MAX_BODY = 64 * 1024
MAX_TOKENS = 2000
WORD = re.compile(r"[^\W_][\w'$€£%.-]{1,30}", re.UNICODE)
URL_HOST = re.compile(r"https?://([A-Za-z0-9.-]{1,253})", re.IGNORECASE)
TAG = re.compile(r"<[^>]{0,2000}>")
ADDRESS_DOMAIN = re.compile(r"@([A-Za-z0-9.-]+)")
HEADER_WORDS = ("subject",)
HEADER_DOMAINS = ("from", "reply-to", "return-path", "to")


def _words(text: str, prefix: str = "") -> list[str]:
    found = []
    for word in WORD.findall(text.lower()):
        word = word.strip(".-'")
        if 3 <= len(word) <= 20:
            found.append(prefix + word)
        elif len(word) > 20:
            found.append(f"{prefix}skip:{word[0]}{len(word) // 10 * 10}")
    return found


def _body_text(message: Message) -> str:
    parts = []
    size = 0
    for part in message.walk():
        if part.get_content_maintype() != "text" or part.is_multipart():
            continue
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            continue
        charset = part.get_content_charset() or "utf-8"
        try:
            text = payload.decode(charset, "replace")
        except LookupError:
            text = payload.decode("utf-8", "replace")
        parts.append(text[: MAX_BODY - size])
        size += len(parts[-1])
        if size >= MAX_BODY:
            break
    return "\n".join(parts)


def tokenize(data: bytes) -> set[str]:
    """The distinct tokens of one message (at most ``MAX_TOKENS``)."""
    message = message_from_bytes(data[: MAX_BODY * 4], policy=compat32)
    tokens: list[str] = []
    for name in HEADER_WORDS:
        tokens += _words(str(message.get(name, "")), f"{name}:")
    for name in HEADER_DOMAINS:
        for domain in ADDRESS_DOMAIN.findall(str(message.get(name, ""))):
            tokens.append(f"{name}:{domain.lower()}")
    tokens.append(f"content-type:{message.get_content_type()}")
    if message.get("x-mailer"):
        tokens.append(f"x-mailer:{str(message['x-mailer']).split()[0].lower()[:30]}")
    body = _body_text(message)
    tokens += [f"url:{host.lower()}" for host in URL_HOST.findall(body)]
    tokens += _words(TAG.sub(" ", URL_HOST.sub(" ", body)))
    return set(list(dict.fromkeys(tokens))[:MAX_TOKENS])
