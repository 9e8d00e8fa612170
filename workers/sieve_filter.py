"""Sieve at delivery: run the recipient's active script and carry out what it decided.

``plan`` runs the script (CPU only, before the writes) and says which folders get a copy
with which flags; ``write_plan`` writes those copies through the mailbox service under
keys fixed by the delivery (so a re-run finds them); ``follow_up`` runs in the deliver
transaction afterwards: a redirect or a vacation reply is accepted as a derived message
with a fixed queue id (once, even if the task runs again), and a reject marks the
delivery failed so the bounce path sends the sender a DSN.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

from sqlalchemy.orm import Session

from mailrs.db.models import Delivery, Message, utcnow
from mailrs.outbound.arc_seal import SIEVE_REDIRECT_MARK as REDIRECT_MARK
from mailrs.queue.accept import Envelope, accept_derived
from mailrs.queue.canvas import VALIDATE, Step
from mailrs.queue.message_bytes import message_bytes
from mailrs.queue.spool import derived_queue_id
from mailrs.queue.states import DeliveryState
from mailrs.sieve.actions import Outcome
from mailrs.sieve.evaluate import Delivery as SieveInput
from mailrs.sieve.evaluate import run
from mailrs.sieve.grammar import SieveSyntaxError, parse_script
from mailrs.sieve.storage import active_script
from mailrs.sieve.vacation import build_reply, claim_reply, may_answer
from mailrs.store.mailbox import MailboxService
from mailrs.store.maildir import StoredMessage
from mailrs.store.pending_keywords import clean_keywords, set_pending
from workers.context import WorkerContext
from workers.progress import record

log = logging.getLogger(__name__)
INBOX = "INBOX"
LETTERS = {"\\seen": "S", "\\answered": "R", "\\flagged": "F", "\\deleted": "T", "\\draft": "D"}


@dataclass(frozen=True)
class Store:
    """One copy to write: its folder, Maildir flag letters, and whether to create it."""

    folder: str
    letters: str = ""
    create: bool = False
    keywords: str = ""  # IMAP keywords ($Label...), seen by IMAP FETCH FLAGS


@dataclass(frozen=True)
class Plan:
    """What to write for one delivery, and the script's outcome (None: no script ran)."""

    stores: tuple[Store, ...]
    outcome: Outcome | None = None


def plain(folder: str) -> Plan:
    """The plan without a script: one copy in the folder route chose."""
    return Plan((Store(folder),))


def plan(
    session: Session,
    scripts: dict[str, str | None],
    user: str,
    message: Message,
    delivery: Delivery,
    data: bytes,
) -> Plan:
    """Run the user's active script, if any, over one delivery."""
    folder = delivery.folder or INBOX
    if user not in scripts:
        scripts[user] = active_script(session, user)
    script = scripts[user]
    if not script:
        return plain(folder)
    try:
        commands = parse_script(script)
    except SieveSyntaxError as exc:  # stored scripts were validated; keep the mail regardless
        log.warning("sieve script of %s does not parse: %s", user, exc)
        return plain(folder)
    parsed = message_from_bytes(data, policy=default_policy)
    assert isinstance(parsed, EmailMessage)
    rcpt = next((r.address for r in message.recipients if r.idx == delivery.rcpt_idx), user)
    outcome = run(commands, SieveInput(parsed, len(data), message.mail_from, rcpt))
    stores = []
    for target in outcome.stores:
        letters = "".join(
            sorted({LETTERS[f.lower()] for f in target.flags if f.lower() in LETTERS})
        )
        keywords = clean_keywords([f for f in target.flags if f.lower() not in LETTERS])
        # the implicit keep of a message route filed as spam stays in Junk
        name = folder if target.mailbox.upper() == INBOX else target.mailbox
        stores.append(Store(name, letters, target.create, keywords))
    return Plan(tuple(stores), outcome)


def write_plan(
    mailbox: MailboxService,
    plan: Plan,
    data: bytes,
    key: str,
    mtime: float,
    retry: bool,
    unsynced: list[Path] | None = None,
) -> list[tuple[str, StoredMessage]]:
    """Write every copy of a plan (a missing folder without ``:create`` falls back to INBOX).

    With ``unsynced``, the folders whose new names still need an fsync are added to it."""
    written = []
    for index, store in enumerate(plan.stores):
        folder = store.folder
        if folder.upper() != INBOX and not mailbox.exists(folder):
            # RFC 5228 4.1: a fileinto that fails (no folder, no :create) keeps the message
            folder = mailbox.create_folder(folder) if store.create else INBOX
        name = key if index == 0 else f"{key}S{index}"
        if store.keywords:  # before the file: the index sync that finds it takes them
            set_pending(mailbox.store.user_dir(mailbox.address), name, store.keywords)
        stored = mailbox.deliver(
            data,
            folder,
            key=name,
            mtime=mtime,
            check_existing=retry,
            flags=store.letters,
            unsynced=unsynced,
        )
        written.append((folder, stored))
    return written


def follow_up(
    ctx: WorkerContext,
    session: Session,
    message: Message,
    delivery: Delivery,
    user: str,
    plan: Plan,
) -> list[Step]:
    """Redirects, the vacation reply and a reject of one delivered message (idempotent)."""
    outcome = plan.outcome
    if outcome is None:
        return []
    steps: list[Step] = []
    if outcome.error:
        record(session, message, "sieve", f"{user}: script error, kept: {outcome.error}"[:500])
    if outcome.reject is not None:
        delivery.state = DeliveryState.FAILED
        delivery.status = "5.7.1"
        delivery.last_error = f"550 5.7.1 rejected by the recipient: {outcome.reject.reason}"[:500]
        delivery.updated_at = utcnow()
        record(session, message, "sieve", f"{user}: rejected")
        return steps  # the bounce path tells the sender
    data: bytes | None = None
    for index, redirect in enumerate(outcome.redirects):
        # what we checked on arrival travels with the copy (relay seals it with ARC)
        data = data if data is not None else message_bytes(ctx.settings, ctx.spool, message)
        head = data[:65536].lower()
        if f"{REDIRECT_MARK.lower()}: {user.lower()}".encode() in head:
            record(session, message, "sieve", f"{user}: redirect loop, not redirected")
            continue
        copy = f"{REDIRECT_MARK}: {user}\r\n".encode() + data
        envelope = Envelope(
            mail_from=message.mail_from,
            recipients=(redirect.address,),
            client_addr="127.0.0.1",
            received_by=ctx.settings.smtp.hostname,
        )
        queue_id = derived_queue_id(message.queue_id, f"sieve-redirect-{delivery.id}-{index}")
        note = f"sieve redirect of {message.queue_id} by {user}"
        if accept_derived(session, ctx.spool, queue_id, envelope, copy, note):
            record(session, message, "sieve", f"{user}: redirected to <{redirect.address}>")
            steps.append((VALIDATE, queue_id))
    if outcome.vacation is not None:
        steps += _vacation(ctx, session, message, delivery, user, outcome)
    return steps


def _vacation(
    ctx: WorkerContext,
    session: Session,
    message: Message,
    delivery: Delivery,
    user: str,
    outcome: Outcome,
) -> list[Step]:
    """Send the vacation reply when the loop and duplicate rules allow."""
    action = outcome.vacation
    assert action is not None
    if (delivery.folder or INBOX) != INBOX:
        return []  # never answer spam
    queue_id = derived_queue_id(message.queue_id, f"sieve-vacation-{delivery.id}")
    data = ctx.spool.read(message.queue_id)
    parsed = message_from_bytes(data, policy=default_policy)
    assert isinstance(parsed, EmailMessage)
    own = {user.lower(), *(a.lower() for a in action.addresses)}
    own |= {r.address.lower() for r in message.recipients if r.idx == delivery.rcpt_idx}
    if not may_answer(parsed, message.mail_from, own):
        return []
    if not claim_reply(session, user, message.mail_from, action):
        return []
    reply = build_reply(parsed, user, message.mail_from, action, ctx.settings.smtp.hostname)
    envelope = Envelope(
        mail_from="",
        recipients=(message.mail_from,),
        client_addr="127.0.0.1",
        received_by=ctx.settings.smtp.hostname,
    )
    note = f"sieve vacation reply of {user} to <{message.mail_from}>"
    if not accept_derived(session, ctx.spool, queue_id, envelope, reply, note):
        return []
    record(session, message, "sieve", f"{user}: vacation reply to <{message.mail_from}>")
    return [(VALIDATE, queue_id)]
