"""Building outgoing mail: drafts, reply and forward with quoted text, attachments."""

from __future__ import annotations

import email.utils
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import SMTP

from mailrs.addresses import parse_address
from mailrs.errors import InvalidAddress
from web.mailservice.errors import BadInput
from web.mailservice.reading import MessageView

MAX_RECIPIENTS = 100
MAX_SUBJECT = 998


@dataclass(frozen=True)
class Upload:
    """A file to attach."""

    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Draft:
    """A message the user wants to send."""

    to: tuple[str, ...]
    subject: str = ""
    text: str = ""
    cc: tuple[str, ...] = ()
    bcc: tuple[str, ...] = ()
    in_reply_to: str = ""
    references: str = ""
    attachments: tuple[Upload, ...] = field(default_factory=tuple)

    @property
    def recipients(self) -> tuple[str, ...]:
        """Every envelope recipient: To, Cc and Bcc, each once."""
        seen: dict[str, None] = {}
        for address in (*self.to, *self.cc, *self.bcc):
            seen.setdefault(address.lower(), None)
        return tuple(seen)


def parse_addresses(value: str | list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
    """Bare addresses from a header-like value or a list; BadInput for one that is not."""
    if not value:
        return ()
    items = [value] if isinstance(value, str) else [str(v) for v in value]
    found = []
    for _name, address in email.utils.getaddresses(items):
        address = address.strip()
        if not address:
            continue
        try:
            parse_address(address)
        except InvalidAddress:
            raise BadInput(f"not an email address: {address!r}") from None
        found.append(address)
    if len(found) > MAX_RECIPIENTS:
        raise BadInput(f"at most {MAX_RECIPIENTS} recipients")
    return tuple(found)


def _one_line(value: str) -> str:
    return " ".join(value.split())[:MAX_SUBJECT]


def build_message(draft: Draft, from_address: str, from_name: str = "") -> EmailMessage:
    """The MIME message of a draft (Bcc left out of the headers)."""
    if not draft.recipients:
        raise BadInput("a message needs at least one recipient")
    message = EmailMessage(policy=SMTP)
    message["From"] = email.utils.formataddr((from_name, from_address))
    if draft.to:
        message["To"] = ", ".join(draft.to)
    if draft.cc:
        message["Cc"] = ", ".join(draft.cc)
    message["Subject"] = _one_line(draft.subject)
    add_thread_and_body(message, draft)
    return message


def add_thread_and_body(message: EmailMessage, draft: Draft) -> None:
    """The reply headers, the plain-text body and the attachments of a draft."""
    if draft.in_reply_to:
        message["In-Reply-To"] = _one_line(draft.in_reply_to)
        message["References"] = _one_line(f"{draft.references} {draft.in_reply_to}".strip())
    message["MIME-Version"] = "1.0"
    message.set_content(draft.text or "", subtype="plain", charset="utf-8")
    for upload in draft.attachments:
        maintype, _, subtype = (upload.content_type or "application/octet-stream").partition("/")
        message.add_attachment(
            upload.data,
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=upload.filename or "attachment",
        )


def quote(text: str) -> str:
    """Text quoted with ``> `` at the start of every line."""
    return "\n".join(f"> {line}" if line else ">" for line in text.splitlines())


def reply_draft(
    view: MessageView, own_address: str, text: str = "", reply_all: bool = False
) -> Draft:
    """A reply to ``view``: To the sender, Re: subject, the original quoted below."""
    sender = email.utils.parseaddr(view.sender)[1]
    cc: tuple[str, ...] = ()
    if reply_all:
        others = email.utils.getaddresses([view.to, view.cc])
        cc = tuple(
            a for _, a in others if a and a.lower() not in (own_address.lower(), sender.lower())
        )
    subject = view.subject if view.subject.lower().startswith("re:") else f"Re: {view.subject}"
    intro = f"On {view.date}, {view.sender} wrote:" if view.date else f"{view.sender} wrote:"
    body = (
        f"{text}\n\n{intro}\n{quote(view.text)}\n" if text else f"\n\n{intro}\n{quote(view.text)}\n"
    )
    return Draft(
        to=(sender,) if sender else (),
        cc=cc,
        subject=subject,
        text=body,
        in_reply_to=view.message_id,
        references=view.references,
    )


def forward_draft(view: MessageView, to: tuple[str, ...] = (), text: str = "") -> Draft:
    """A forward of ``view``: Fwd: subject and the original below the user's text."""
    subject = view.subject if view.subject.lower().startswith("fwd:") else f"Fwd: {view.subject}"
    original = (
        "---------- Forwarded message ----------\n"
        f"From: {view.sender}\nDate: {view.date}\nSubject: {view.subject}\nTo: {view.to}\n\n"
        f"{view.text}\n"
    )
    return Draft(
        to=to, subject=subject, text=f"{text}\n\n{original}" if text else f"\n\n{original}"
    )
