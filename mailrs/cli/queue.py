"""``mailrs queue``: look at and act on the mail queue (list, show, retry, delete, flush...)."""

from __future__ import annotations

import datetime as dt

import click
from sqlalchemy.orm import Session

from mailrs.cli.options import config_option, load_or_fail
from mailrs.config import Settings
from mailrs.db.engine import Database
from mailrs.db.models import Message, utcnow
from mailrs.queue.admin import (
    NotInQueue,
    delete_message,
    find_message,
    list_messages,
    republish,
    unfinished_ids,
)
from mailrs.queue.spool import Spool
from mailrs.queue.states import DONE, DeliveryKind


@click.group("queue")
def queue_group() -> None:
    """The mail queue: messages whose pipeline has not finished."""


def _age(when: dt.datetime) -> str:
    secs = int((utcnow() - when).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if secs >= size:
            return f"{secs // size}{unit}"
    return f"{secs}s"


def _find(session: Session, queue_id: str) -> Message:
    try:
        return find_message(session, queue_id)
    except NotInQueue as exc:
        raise click.ClickException(str(exc)) from None


def _open(config_path: str | None) -> tuple[Settings, Database]:
    settings = load_or_fail(config_path)
    return settings, Database.from_settings(settings)


@queue_group.command("list")
@config_option
@click.option("--all", "show_all", is_flag=True, help="Include finished messages.")
@click.option("--limit", default=200, show_default=True, type=click.IntRange(1, 100000))
def queue_list(config_path: str | None, show_all: bool, limit: int) -> None:
    """One line per queued message: id, state, age, sender, recipients, next attempt."""
    _, db = _open(config_path)
    with db.session() as session:
        messages = list_messages(session, show_all, limit)
        if not messages:
            click.echo("queue is empty")
        for m in messages:
            done = sum(d.state in DONE for d in m.deliveries)
            total = len(m.deliveries) or len(m.recipients)
            due = m.next_attempt_at.strftime("%H:%M:%S") if m.next_attempt_at else "-"
            click.echo(
                f"{m.queue_id}  {m.state:<9} {_age(m.received_at):>4}  <{m.mail_from}>  "
                f"{done}/{total} done  next={due}"
            )
    db.dispose()


@queue_group.command("show")
@config_option
@click.argument("queue_id")
def queue_show(config_path: str | None, queue_id: str) -> None:
    """Everything about one message: envelope, verdict, each target, attempts, history."""
    settings, db = _open(config_path)
    with db.session() as session:
        m = _find(session, queue_id)
        click.echo(f"Queue-ID: {m.queue_id}")
        click.echo(f"State: {m.state}{' (finished)' if m.finished_at else ''}")
        click.echo(f"From: <{m.mail_from}>")
        click.echo(f"Received: {m.received_at.isoformat()} from {m.helo} [{m.client_addr}]")
        click.echo(f"Size: {m.size}")
        click.echo(
            f"Spool: {'present' if Spool(settings.spool_path).exists(m.queue_id) else 'gone'}"
        )
        if m.spam_verdict:
            click.echo(f"Spam: {m.spam_verdict} score={m.spam_score} {m.spam_symbols}")
        if m.next_attempt_at:
            click.echo(f"Next attempt: {m.next_attempt_at.isoformat()} (retry {m.attempts})")
        click.echo("Recipients:")
        for r in m.recipients:
            click.echo(f"  <{r.address}> {r.state}")
        click.echo("Deliveries:")
        for d in m.deliveries:
            where = d.folder if d.kind == DeliveryKind.LOCAL else d.remote_mta or d.domain
            click.echo(
                f"  {d.kind:<6} <{d.address}> {d.state} {d.status} attempts={d.attempts}"
                f" {where} {d.last_error}".rstrip()
            )
        if m.attempt_log:
            click.echo("Attempts:")
            for a in m.attempt_log:
                click.echo(f"  {a.at.isoformat()} {a.domain} {a.host} {a.outcome}: {a.detail}")
        click.echo("History:")
        for e in m.events:
            click.echo(f"  {e.at.isoformat()} {e.stage}: {e.detail}")
    db.dispose()


def _republish(settings: Settings, db: Database, queue_ids: list[str]) -> str:
    """Make these messages due now and hand them to the broker (or to the next sweep)."""
    return republish(settings, db, queue_ids).summary


@queue_group.command("retry")
@config_option
@click.argument("queue_id")
def queue_retry(config_path: str | None, queue_id: str) -> None:
    """Retry one deferred message now instead of at its scheduled time."""
    settings, db = _open(config_path)
    with db.session() as session:
        message = _find(session, queue_id)
        if message.finished_at is not None:
            raise click.ClickException(f"{message.queue_id} is finished ({message.state})")
        qid = message.queue_id
    click.echo(f"{qid}: {_republish(settings, db, [qid])}")
    db.dispose()


@queue_group.command("flush")
@config_option
def queue_flush(config_path: str | None) -> None:
    """Retry every unfinished message now."""
    settings, db = _open(config_path)
    with db.session() as session:
        ids = unfinished_ids(session)
    if not ids:
        click.echo("queue is empty")
    else:
        click.echo(f"{len(ids)} message(s): {_republish(settings, db, ids)}")
    db.dispose()


@queue_group.command("delete")
@config_option
@click.argument("queue_id")
def queue_delete(config_path: str | None, queue_id: str) -> None:
    """Remove a message from the queue for good: no delivery, no bounce."""
    settings, db = _open(config_path)
    with db.session() as session:
        try:
            qid = delete_message(session, Spool(settings.spool_path), queue_id)
        except NotInQueue as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"{qid}: deleted")
    db.dispose()


@queue_group.command("orphans")
@config_option
@click.option(
    "--grace",
    default=0,
    show_default=True,
    type=click.IntRange(0),
    help="Only files older than this many seconds.",
)
@click.option("--remove", is_flag=True, help="Remove them now instead of waiting for the sweeper.")
def queue_orphans(config_path: str | None, grace: int, remove: bool) -> None:
    """Spool files no unfinished message needs (the sweeper removes them after its grace)."""
    from mailrs.queue.orphans import find_orphans

    settings, db = _open(config_path)
    orphans = find_orphans(db, Spool(settings.spool_path), grace)
    db.dispose()
    if not orphans:
        click.echo("no orphaned spool files")
        return
    removed = 0
    for orphan in orphans:
        note = ""
        if remove:
            try:
                orphan.path.unlink(missing_ok=True)
                removed += 1
                note = "  removed"
            except OSError as exc:
                note = f"  cannot remove: {exc.strerror or exc}"
        age = _age(utcnow() - dt.timedelta(seconds=orphan.age_secs))
        click.echo(f"{orphan.queue_id}  {orphan.reason:<16} {age:>4}  {orphan.size} bytes{note}")
    summary = f"{len(orphans)} orphaned spool file(s)"
    click.echo(summary + (f", {removed} removed" if remove else ""))
