"""Stage 4a, deliver: write the message into each local target's Maildir, exactly once.

Each target gets a Maildir file whose name is fixed by the queue id and delivery id, so
a re-run after a crash (the task runs again, or the sweeper re-publishes the message)
finds the earlier copy instead of making a second one. Targets fail independently: a
mailbox that cannot be written is deferred and retried on the relay schedule while the
others are delivered. Spam goes to the Junk folder route chose. The copies are written
through the mailbox service (``mailrs.store.mailbox.MailboxService.deliver``: tmp, fsync,
new/), in parallel threads; each delivery publishes a typed ``NewMail`` event for IMAP
IDLE and the web, off the task's path.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email.header import decode_header, make_header
from email.parser import BytesHeaderParser
from email.policy import compat32
from functools import cache
from pathlib import Path

from celery import Task
from sqlalchemy.orm import Session

from mailrs.accounts.quota import fits
from mailrs.accounts.users import find_user
from mailrs.celery import app
from mailrs.config import Settings
from mailrs.db.models import Delivery, Message, User, utcnow
from mailrs.errors import SpoolError
from mailrs.queue.canvas import DELIVER, Step, dispatch
from mailrs.queue.claims import Claims
from mailrs.queue.message_bytes import message_bytes
from mailrs.queue.states import FINAL, DeliveryKind, DeliveryState, MessageState
from mailrs.store.events import NewMail, publish_event
from mailrs.store.filenames import stable_name
from mailrs.store.folder_sync import sync_folders
from mailrs.store.mailbox import MailboxService
from mailrs.store.maildir import StoredMessage
from mailrs.store.usage import mailbox_usage
from workers.context import WorkerContext, worker_context
from workers.faults import pause_point
from workers.progress import Finishes, conclude, load_messages, record, settle
from workers.sieve_filter import Plan, follow_up, plan, write_plan
from workers.transitions import claim_deliveries

log = logging.getLogger(__name__)
WRITE_THREADS = 8


def deliver_messages(
    queue_ids: Sequence[str], claims: Claims | None = None, fresh: Collection[str] = ()
) -> list[Step]:
    """Deliver every pending local target of a batch; returns the tasks still to run.

    ``claims``: the caller's claims on these messages (``mailrs.queue.claims``); without
    them the messages are claimed here, and those another runner holds are left to it.
    ``fresh``: messages whose local deliveries the caller's route has just created
    "delivering" under these claims (``workers.route.route_batch``): their first attempt,
    already committed, so nothing is claimed again nor looked for.
    """
    if claims is None:
        with Claims(worker_context().spool) as mine:
            return _deliver_claimed(mine.take(queue_ids), mine)
    return _deliver_claimed(claims.take(queue_ids), claims, frozenset(fresh))


def _deliver_claimed(
    queue_ids: Sequence[str], claims: Claims, fresh: frozenset[str] = frozenset()
) -> list[Step]:
    """``deliver_messages`` for the messages ``claims`` let this runner work on.

    Two commits for the whole batch: the "delivering" marks (compare-and-set, with the
    attempt count a re-run reads to look for an earlier copy), then every result with
    each message's finish; one when the pipeline's route committed the marks (``fresh``).
    A delivery found "delivering" under this runner's lock was
    left by a dead runner and is taken over at once (its earlier copy looked for);
    without the lock (a spool without working locks) only once it is older than
    ``celery.sweep_grace_secs``, as relay's. A message that also has remote targets
    settles on its own afterwards, since a relay may be running on it.
    """
    if not queue_ids:
        return []
    ctx = worker_context()
    stale = utcnow() - dt.timedelta(seconds=max(ctx.settings.celery.sweep_grace_secs, 1))
    events: list[tuple[str, NewMail]] = []
    steps: list[Step] = []
    shared: list[str] = []
    with ctx.db.session() as session:
        now = utcnow()
        found: list[tuple[Message, list[Delivery]]] = []
        for message in load_messages(session, queue_ids):
            if message.finished_at is not None or message.state != MessageState.ROUTED:
                continue  # finished, or route has not run yet
            locked = claims.holds(message.queue_id)
            found.append(
                (
                    message,
                    [
                        d
                        for d in message.deliveries
                        if d.kind == DeliveryKind.LOCAL
                        and d.state not in FINAL
                        and (locked or d.state != DeliveryState.DELIVERING or d.updated_at <= stale)
                    ],
                )
            )
        new = {
            d.id
            for message, open_ in found
            if message.queue_id in fresh and claims.holds(message.queue_id)
            for d in open_
            if d.state == DeliveryState.DELIVERING and d.attempts == 1
        }  # marked by this runner's route a moment ago: won, and no copy can exist yet
        earlier = {d.id: d.attempts > 0 and d.id not in new for _, o in found for d in o}
        to_claim = [d for _, open_ in found for d in open_ if d.id not in new]
        won = new | {d.id for d in claim_deliveries(session, to_claim, now)}
        work: list[tuple[Message, list[tuple[Delivery, bool]]]] = [
            (message, [(d, earlier[d.id]) for d in open_ if d.id in won])
            for message, open_ in found
            if not open_ or any(d.id in won for d in open_)  # else another runner has them
        ]
        if not work:
            return []
        if to_claim:
            session.commit()  # the "delivering" marks are on disk before any write
        users: dict[str, User | None] = {}
        usage: dict[str, int] = {}
        scripts: dict[str, str | None] = {}
        done: list[Message] = []
        jobs: list[_Copy] = []
        for message, pending in work:
            pause_point("deliver", message.queue_id)
            if pending:
                try:
                    data = message_bytes(ctx.settings, ctx.spool, message, for_mailbox=True)
                except SpoolError as exc:  # one lost file must not hold up the batch
                    log.error("deliver %s: %s", message.queue_id, exc)
                    continue
                for delivery, retry in pending:
                    address = _mailbox_of(session, message, delivery, users)
                    if address is None:
                        continue
                    with session.no_autoflush:  # a read only: no write lock held
                        todo = plan(session, scripts, address, message, delivery, data)
                    job = _Copy(message, delivery, address, data, retry, todo)
                    if retry or _within_quota(ctx, session, job, users, usage):
                        jobs.append(job)
            done.append(message)
        for job, outcome in zip(jobs, _write_all(ctx, jobs), strict=True):
            if _note_outcome(session, job, outcome) and not isinstance(outcome, Exception):
                steps += follow_up(ctx, session, job.message, job.delivery, job.address, job.plan)
                for folder, _ in outcome:
                    events.append((job.delivery.address, _event(job.message, folder, job.data)))
        finished = []
        finishes = Finishes()
        with session.no_autoflush:  # one flush at the commit, not one per message's finish
            for message in done:
                if all(
                    d.kind == DeliveryKind.LOCAL or d.state in FINAL for d in message.deliveries
                ):
                    more, over = conclude(ctx, session, message, finishes)  # no relay running
                    steps += more
                    if over:
                        finished.append(message.queue_id)
                else:
                    shared.append(message.queue_id)
            finishes.write(session)
        session.commit()
    for queue_id in finished:
        ctx.spool.remove(queue_id)
    for queue_id in shared:
        steps += settle(ctx, queue_id)
    if events:  # notifications only (the Maildir is the record): off the task's path, in order
        _notifier(os.getpid()).submit(_notify, ctx.settings, events)
    return steps


@cache
def _notifier(pid: int) -> ThreadPoolExecutor:
    """This process's one thread that publishes new-mail events, in delivery order."""
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="events")


def _notify(settings: Settings, events: list[tuple[str, NewMail]]) -> None:
    """Publish a batch's new-mail events (``publish_event`` never raises)."""
    for user, event in events:
        publish_event(settings, user, event)


def deliver_message(queue_id: str) -> list[Step]:
    """Deliver every pending local target of a message; returns the tasks still to run."""
    return deliver_messages([queue_id])


def _event(message: Message, folder: str, data: bytes) -> NewMail:
    """The new-mail event of one delivered copy (Subject and From decoded for display).

    The raw header fields and RFC 2047 decoding only: the structured parse of the
    default policy cost three times as much, on every delivered copy.
    """
    head = BytesHeaderParser(policy=compat32).parsebytes(data.split(b"\r\n\r\n", 1)[0][:65536])
    return NewMail(
        folder=folder,
        subject=_display(head.get("Subject"))[:300],
        sender=_display(head.get("From"))[:300],
        queue_id=message.queue_id,
        source="deliver",
    )


def _display(raw: object) -> str:
    """A header field's value unfolded and decoded ('' when absent)."""
    if raw is None:
        return ""
    text = str(raw).replace("\r\n", "").replace("\n", "")
    try:
        return str(make_header(decode_header(text)))
    except Exception:  # an unparseable header is still news
        return text


_Written = list[tuple[str, StoredMessage]]  # (folder, file) of each copy written


@dataclass(frozen=True)
class _Copy:
    """One copy to write: a local delivery of a message into an existing account."""

    message: Message
    delivery: Delivery
    address: str
    data: bytes
    retry: bool
    plan: Plan  # the folders (and flags) the recipient's Sieve script chose


def _mailbox_of(
    session: Session, message: Message, delivery: Delivery, users: dict[str, User | None]
) -> str | None:
    """The account a delivery goes to, or None (marked failed) when there is none."""
    key = delivery.address.lower()
    if key not in users:
        users[key] = find_user(session, delivery.address)
    user = users[key]
    if user is None or user.disabled:
        delivery.state = DeliveryState.FAILED
        delivery.status = "5.1.1"
        delivery.last_error = f"550 5.1.1 <{delivery.address}>: mailbox does not exist"
        record(session, message, "failed", f"{delivery.address}: no such user")
        return None
    return user.address


def _within_quota(
    ctx: WorkerContext,
    session: Session,
    job: _Copy,
    users: dict[str, User | None],
    usage: dict[str, int],
) -> bool:
    """Whether the copy fits the account's quota; if not, the delivery fails with 5.2.2.

    A failed delivery is bounced to the sender by the bounce stage (``conclude``). A
    retried copy passed this check before its write was interrupted, so it is not asked
    again (its first copy may already count in the usage).
    """
    user = users.get(job.delivery.address.lower())
    limit = None if user is None else user.quota_bytes
    if limit is None:
        return True
    if job.address not in usage:
        usage[job.address] = mailbox_usage(ctx.store, job.address)
    if fits(limit, usage[job.address], len(job.data)):
        usage[job.address] += len(job.data)
        return True
    delivery = job.delivery
    delivery.state = DeliveryState.FAILED
    delivery.status = "5.2.2"
    delivery.last_error = f"552 5.2.2 <{delivery.address}>: mailbox full (quota exceeded)"
    delivery.updated_at = utcnow()
    record(session, job.message, "failed", f"{delivery.address}: over quota")
    log.info("deliver %s to %s refused: over quota", job.message.queue_id, delivery.address)
    return False


@cache
def _writers(pid: int) -> ThreadPoolExecutor:
    """This process's threads for Maildir writes (a forked child makes its own)."""
    return ThreadPoolExecutor(max_workers=WRITE_THREADS, thread_name_prefix="maildir")


def _write_all(ctx: WorkerContext, jobs: list[_Copy]) -> list[_Written | Exception]:
    """Write every copy, in parallel threads (the file system overlaps their file
    fsyncs), then fsync each folder that got new names once for the whole batch: a copy
    counts as written only when its file and its name are both on disk."""

    def attempt(job: _Copy) -> tuple[_Written | Exception, list[Path]]:
        unsynced: list[Path] = []
        try:
            return _write(ctx, job, unsynced), unsynced
        except Exception as exc:  # one recipient's trouble never stops the others
            return exc, unsynced

    if len(jobs) <= 1:
        attempts = [attempt(job) for job in jobs]
    else:
        attempts = list(_writers(os.getpid()).map(attempt, jobs))
    failed = sync_folders(folder for _, folders in attempts for folder in folders)
    outcomes: list[_Written | Exception] = []
    for outcome, folders in attempts:
        errors = [failed[folder] for folder in folders if folder in failed]
        outcomes.append(errors[0] if errors and not isinstance(outcome, Exception) else outcome)
    return outcomes


def _note_outcome(session: Session, job: _Copy, outcome: _Written | Exception) -> bool:
    """Record one copy's outcome on its delivery; True when it is in the mailbox."""
    delivery, message = job.delivery, job.message
    delivery.updated_at = utcnow()
    if isinstance(outcome, Exception):
        exc = outcome
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        delivery.state = DeliveryState.DEFERRED
        delivery.status = "4.3.0"
        delivery.last_error = f"451 4.3.0 {type(exc).__name__}: {reason}"[:500]
        record(session, message, "deferred", f"{delivery.address}: {delivery.last_error}")
        log.warning("deliver %s to %s deferred: %s", message.queue_id, delivery.address, exc)
        return False
    delivery.state = DeliveryState.DELIVERED
    delivery.status = "2.0.0"
    delivery.last_error = ""
    delivery.delivered_as = outcome[0][1].filename[:255] if outcome else ""
    folders = " ".join(folder for folder, _ in outcome) or "(discarded by Sieve)"
    record(session, message, "delivered", f"{delivery.address} {folders}")
    return True


def _write(ctx: WorkerContext, job: _Copy, unsynced: list[Path]) -> _Written:
    """Write a delivery's copies under fixed names; a vanished Maildir (or Junk) is recreated.

    The folders that got new names are added to ``unsynced`` (synced by the caller)."""
    message = job.message
    mtime = message.received_at.timestamp()
    name = stable_name(mtime, f"{message.queue_id}D{job.delivery.id}", message.received_by)
    mailbox = MailboxService(ctx.store, job.address, source="deliver")  # opens no index
    return write_plan(mailbox, job.plan, job.data, name, mtime, job.retry, unsynced)


@app.task(name=DELIVER, bind=True, ignore_result=True)
def deliver(self: Task, *queue_ids: str) -> None:
    """Celery task: the deliver stage for a batch (a deferral is retried by the sweeper)."""
    dispatch(app, deliver_messages(queue_ids))
