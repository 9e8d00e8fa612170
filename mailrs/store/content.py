"""What the search index keeps of a message: decoded headers, body text and sent date.

The ``content_parser`` of ``MailboxService`` for IMAP SEARCH and the web's search.
"""

from __future__ import annotations

import calendar
import email.utils
import functools
from email import _header_value_parser as rfc5322
from email.header import decode_header, make_header

from mailrs.store.fulltext import Content
from mailrs.store.mime import Part, header_lines, parse

MAX_BODY_TEXT = 2 * 1024 * 1024
MAX_ATTACHMENTS = 100


def decoded(value: str) -> str:
    """A header value with its encoded words decoded and folding removed."""
    unfolded = " ".join(value.replace("\r", " ").replace("\n", " ").split())
    if "=?" not in unfolded:
        return unfolded  # no encoded word: decode_header would give it back as it is
    try:
        return str(make_header(decode_header(unfolded)))
    except Exception:
        return unfolded


def _text_of(part: Part, out: list[str], budget: list[int]) -> None:
    if budget[0] <= 0:
        return
    if part.children:
        for child in part.children:
            _text_of(child, out, budget)
        return
    if part.message is not None:
        out.append(_headers_text(part.message.header))
        _text_of(part.message, out, budget)
        return
    if part.maintype != "text":
        return
    encoding = str(part.fields.get("content-transfer-encoding", "7bit")).strip().lower()
    data = part.body
    try:
        if encoding == "base64":
            import base64

            data = base64.b64decode(b"".join(data.split()), validate=False)
        elif encoding == "quoted-printable":
            import quopri

            data = quopri.decodestring(data)
    except Exception:
        pass
    charset = part.fields.get_content_charset() or "utf-8"
    try:
        text = data.decode(charset, "replace")
    except LookupError:
        text = data.decode("utf-8", "replace")
    text = text[: budget[0]]
    budget[0] -= len(text)
    out.append(text)


def _attachments_of(part: Part, out: list[tuple[str, str, int]]) -> None:
    """(file name, content type, decoded size) of each attachment, as the web's reader
    counts them: a leaf part that is ``attachment`` or has a name and is not text."""
    for child in part.children:
        _attachments_of(child, out)
    if part.children:
        return
    disposition = str(part.fields.get("content-disposition", "")).split(";", 1)[0]
    name = part.fields.get_filename() or ""
    name = decoded(name) if name else ""
    if disposition.strip().lower() != "attachment" and not (name and part.maintype != "text"):
        return
    encoding = str(part.fields.get("content-transfer-encoding", "")).strip().lower()
    size = len(part.body)
    if encoding == "base64":
        data = b"".join(part.body.split())
        size = len(data) * 3 // 4 - data[-2:].count(b"=")
    kind = f"{part.maintype}/{part.subtype}"
    out.append((name or f"attachment-{len(out) + 1}", kind, size))


def _fields(header: bytes) -> list[tuple[str, str]]:
    """(name, decoded value) of every header field; raw 8-bit text is read as UTF-8."""
    out = []
    for field_bytes in header_lines(header):
        name, _, value = field_bytes.decode("utf-8", "replace").partition(":")
        out.append((name.strip(), decoded(value)))
    return out


@functools.lru_cache(maxsize=4096)
def with_addresses(value: str) -> str:
    """An address header's text plus each address as plain ``local@domain``.

    ``<user (comment)@ (comment) domain>`` is found by SEARCH FROM user@domain, as in
    Dovecot and imaptest's search-addresses. Remembered for the last 4,096 values: the
    ``email`` package's address parser costs ~0.1 ms a header, and a mailbox's From and
    To values repeat (its owner, their correspondents).
    """
    if "@" not in value:
        return value  # no address to add
    try:
        parsed, _ = rfc5322.get_address_list(value)
        mailboxes = parsed.all_mailboxes  # type: ignore[attr-defined]
        plain = [f"{m.local_part}@{m.domain}" for m in mailboxes if m.local_part and m.domain]
    except Exception:
        return value
    return "\n".join([value, *(address for address in plain if address not in value)])


def _headers_text(header: bytes) -> str:
    return "\n".join(f"{name}: {value}" for name, value in _fields(header))


def content_of(data: bytes) -> Content:
    """The search content of a raw message."""
    root = parse(data)
    fields = _fields(root.header)
    by_name: dict[str, list[str]] = {}
    for key, value in fields:
        by_name.setdefault(key.lower(), []).append(value)

    def header(name: str) -> str:
        return "\n".join(by_name.get(name, ()))

    sent = None
    date = header("date") or None
    if date is not None:
        try:
            parsed = email.utils.parsedate_to_datetime(str(date))
            sent = float(calendar.timegm(parsed.timetuple()))  # its own wall-clock date
        except (TypeError, ValueError, IndexError, OverflowError):
            sent = None
    body: list[str] = []
    _text_of(root, body, [MAX_BODY_TEXT])
    attachments: list[tuple[str, str, int]] = []
    _attachments_of(root, attachments)
    return Content(
        sent=sent,
        hfrom=with_addresses(header("from")),
        hto=with_addresses(header("to")),
        hcc=with_addresses(header("cc")),
        hbcc=with_addresses(header("bcc")),
        subject=header("subject"),
        headers="\n".join(f"{name}: {value}" for name, value in fields),
        body="\n".join(body),
        attachments=tuple(attachments[:MAX_ATTACHMENTS]),
    )
