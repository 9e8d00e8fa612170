"""A stored message prepared for reading: headers, plain text, sanitised HTML, attachments."""

from __future__ import annotations

import email.utils
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser

from web.mailservice.errors import NotFound
from web.mailservice.sanitize import sanitize_html

MAX_TEXT_CHARS = 2_000_000


@dataclass(frozen=True)
class Attachment:
    """One attachment: its position among the message's parts, name, type and size."""

    index: int
    filename: str
    content_type: str
    size: int


@dataclass(frozen=True)
class MessageView:
    """What a reader sees of one message."""

    subject: str
    sender: str
    to: str
    cc: str
    date: str
    message_id: str
    references: str
    text: str
    html: str | None
    blocked_images: int
    attachments: list[Attachment] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        """The view as the API returns it (HTML already sanitised)."""
        return {
            "subject": self.subject,
            "from": self.sender,
            "to": self.to,
            "cc": self.cc,
            "date": self.date,
            "message_id": self.message_id,
            "text": self.text,
            "html": self.html,
            "blocked_images": self.blocked_images,
            "attachments": [
                {
                    "index": a.index,
                    "filename": a.filename,
                    "content_type": a.content_type,
                    "size": a.size,
                }
                for a in self.attachments
            ],
        }


def parse(raw: bytes) -> EmailMessage:
    """Parse raw bytes with the modern email policy."""
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    return message


def header(message: Message, name: str) -> str:
    """A header as text; a malformed header gives its raw value, never an exception."""
    try:
        value = message.get(name)
    except (ValueError, IndexError, TypeError):
        wanted = name.lower()  # the raw text: parsing it again would fail again
        value = next((v for k, v in message.raw_items() if k.lower() == wanted), "")
    return str(value or "").strip()


def _content(part: Message) -> str:
    try:
        content = part.get_content()  # type: ignore[attr-defined]
    except (LookupError, ValueError, AssertionError, KeyError):
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    if isinstance(content, bytes):
        content = content.decode("utf-8", "replace")
    return str(content)[:MAX_TEXT_CHARS]


def is_attachment(part: Message) -> bool:
    """True for a leaf part that is an attachment rather than the body."""
    if part.is_multipart():
        return False
    disposition = (part.get_content_disposition() or "").lower()
    if disposition == "attachment":
        return True
    return bool(part.get_filename()) and part.get_content_maintype() != "text"


def leaf_parts(message: Message) -> list[Message]:
    """Every non-multipart part, in order (their positions number the attachments)."""
    return [part for part in message.walk() if not part.is_multipart()]


def body_text(message: Message) -> tuple[str, str | None]:
    """The plain text and the HTML of the body (the first of each that is not attached)."""
    text: str | None = None
    html: str | None = None
    for part in leaf_parts(message):
        if is_attachment(part):
            continue
        kind = part.get_content_type()
        if kind == "text/plain" and text is None:
            text = _content(part)
        elif kind == "text/html" and html is None:
            html = _content(part)
    if text is None and html is not None:
        text = html_to_text(html)
    return text or "", html


def html_to_text(html: str) -> str:
    """A rough plain-text version of HTML (tags removed by nh3, entities decoded)."""
    import html as html_lib

    import nh3

    stripped = nh3.clean(html.replace("<br", "\n<br").replace("</p>", "</p>\n"), tags=set())
    return html_lib.unescape(stripped).strip()


def view_message(raw: bytes, allow_remote_images: bool = False) -> MessageView:
    """Everything the message page and the API show of one message."""
    message = parse(raw)
    text, html = body_text(message)
    clean = sanitize_html(html, allow_remote_images) if html is not None else None
    attachments = []
    for index, part in enumerate(leaf_parts(message)):
        if is_attachment(part):
            payload = part.get_payload(decode=True)
            attachments.append(
                Attachment(
                    index=index,
                    filename=part.get_filename() or f"attachment-{index}",
                    content_type=part.get_content_type(),
                    size=len(payload) if isinstance(payload, bytes) else 0,
                )
            )
    return MessageView(
        subject=header(message, "Subject"),
        sender=header(message, "From"),
        to=header(message, "To"),
        cc=header(message, "Cc"),
        date=header(message, "Date"),
        message_id=header(message, "Message-ID"),
        references=header(message, "References"),
        text=text,
        html=clean.html if clean else None,
        blocked_images=clean.blocked_images if clean else 0,
        attachments=attachments,
    )


def attachment_bytes(raw: bytes, index: int) -> tuple[str, str, bytes]:
    """``(filename, content type, bytes)`` of the attachment at ``index``; NotFound otherwise."""
    parts = leaf_parts(parse(raw))
    if not 0 <= index < len(parts) or not is_attachment(parts[index]):
        raise NotFound(f"no attachment {index}")
    part = parts[index]
    payload = part.get_payload(decode=True)
    data = payload if isinstance(payload, bytes) else b""
    return part.get_filename() or f"attachment-{index}", part.get_content_type(), data


def sender_address(raw_from: str) -> str:
    """The bare address of a From header value."""
    return email.utils.parseaddr(raw_from)[1]
