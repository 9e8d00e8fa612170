"""Drafts kept in the Drafts folder, as IMAP clients keep them: each save APPENDs the
draft (flags \\Draft and \\Seen) through the mailbox service and removes the copy it
replaces, so an IMAP client sees one current draft; a draft is resumed from there."""

from __future__ import annotations

import email.utils
from email.header import Header
from email.message import EmailMessage
from email.policy import SMTP

from web.mailservice.compose import Draft, add_thread_and_body
from web.mailservice.errors import BadInput, NotFound
from web.mailservice.mailbox import UserMailbox
from web.mailservice.reading import body_text, header, parse

DRAFTS = "Drafts"


def _one_line(value: str) -> str:
    return " ".join(value.split())


def draft_message(draft: Draft, from_address: str) -> bytes:
    """The draft as a message: like the one sent, with Bcc kept and no recipient needed."""
    message = EmailMessage(policy=SMTP)
    message["From"] = email.utils.formataddr(("", from_address))
    message["Subject"] = _one_line(draft.subject)
    message["Date"] = email.utils.formatdate(localtime=False)
    message["Message-ID"] = email.utils.make_msgid(domain=from_address.rpartition("@")[2])
    add_thread_and_body(message, draft)
    # Address fields go in as typed (a half-written ``bob@`` is no valid address list).
    fields = b""
    for name, values in (("To", draft.to), ("Cc", draft.cc), ("Bcc", draft.bcc)):
        if values:
            value = _one_line(", ".join(values))
            if not value.isascii():
                value = Header(value, "utf-8").encode()
            fields += f"{name}: {value}\r\n".encode("ascii", "replace")
    return fields + message.as_bytes()


def save_draft(mailbox: UserMailbox, draft: Draft, replaces: int | None = None) -> int:
    """Store the draft in Drafts (removing the copy it replaces); its new UID."""
    try:
        data = draft_message(draft, mailbox.address)
    except (ValueError, TypeError) as exc:  # a header the email package refuses
        raise BadInput(f"this draft cannot be saved: {exc}") from exc
    uid = mailbox.append(DRAFTS, data, flags="DS")
    if replaces is not None and replaces != uid:
        discard_draft(mailbox, replaces)
    return uid


def discard_draft(mailbox: UserMailbox, uid: int) -> bool:
    """Remove a draft for good (it was replaced or sent); False when it was gone."""
    return bool(mailbox.service.expunge_uids(DRAFTS, [uid]))


def load_draft(mailbox: UserMailbox, uid: int) -> Draft:
    """A draft of the Drafts folder back as a Draft (attachments are not carried over)."""
    message = parse(mailbox.raw(DRAFTS, uid))
    text, _html = body_text(message)
    return Draft(
        to=loose_addresses(header(message, "To")),
        cc=loose_addresses(header(message, "Cc")),
        bcc=loose_addresses(header(message, "Bcc")),
        subject=header(message, "Subject"),
        text=text.rstrip("\r\n"),
        in_reply_to=header(message, "In-Reply-To"),
        references=" ".join(header(message, "References").split()[:-1]),
    )


def loose_addresses(value: str) -> tuple[str, ...]:
    """What a To/Cc/Bcc field holds, kept as typed (a draft may be half-written)."""
    return tuple(_one_line(part) for part in value.split(",") if part.strip())[:100]


def draft_uid(value: str | None) -> int | None:
    """The UID of the draft a form edits, None for a new one; BadInput for garbage."""
    if not value:
        return None
    try:
        uid = int(value)
    except ValueError:
        raise BadInput("draft must be a message number") from None
    if uid < 1:
        raise NotFound(f"no draft {uid}")
    return uid
