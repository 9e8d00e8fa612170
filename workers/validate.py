"""Stage 1, validate: parse the spooled bytes, note defects, prepare the trace headers.

Mail from outside also gets our Authentication-Results (SPF, DKIM, DMARC; see
``workers.inbound``).

Nothing is refused here: a message that does not parse is delivered as it came, with a
header that names its defects. The headers to add are stored on the row, not written
into the spool file, so running the stage twice changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from email.parser import BytesParser
from email.policy import default as default_policy

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from mailrs.celery import app
from mailrs.db.models import Message
from mailrs.errors import SpoolError
from mailrs.queue.canvas import VALIDATE
from mailrs.queue.states import MessageState
from mailrs.queue.trace import received_header
from workers.context import WorkerContext, worker_context
from workers.faults import pause_point
from workers.inbound import authentication_results
from workers.progress import record
from workers.transitions import commit_stage

log = logging.getLogger(__name__)

MAX_DEFECTS = 10


def find_defects(data: bytes) -> list[str]:
    """Names of the parse defects of a message (empty when it is well-formed)."""
    try:
        parsed = BytesParser(policy=default_policy).parsebytes(data)
    except Exception as exc:  # the parser should not raise, but never lose a message
        return [f"unparseable: {type(exc).__name__}"]
    defects: list[str] = []
    for part in parsed.walk():
        defects.extend(type(defect).__name__ for defect in part.defects)
    if not data.strip():
        defects.append("EmptyMessage")
    return sorted(set(defects))[:MAX_DEFECTS]


def load_in_states(
    session: Session, queue_ids: Sequence[str], *states: MessageState
) -> list[Message]:
    """The messages of a batch that are in one of these states, with their recipients."""
    return list(
        session.scalars(
            select(Message)
            .where(Message.queue_id.in_(list(queue_ids)), Message.state.in_(states))
            .order_by(Message.id)
            .options(selectinload(Message.recipients))  # the Received: header's "for"
        )
    )


def validate_messages(queue_ids: Sequence[str]) -> list[str]:
    """Run the validate stage for a batch in one transaction; idempotent per message."""
    ctx = worker_context()
    with ctx.db.session() as session:
        # the others are unknown, or already past this stage
        messages = load_in_states(session, queue_ids, MessageState.RECEIVED)
        loaded = {m.id: m.state for m in messages}
        with session.no_autoflush:  # nothing written before commit_stage's checks
            validate_loaded(ctx, session, messages)
        commit_stage(session, messages, loaded)
    return list(queue_ids)


def validate_loaded(ctx: WorkerContext, session: Session, messages: Sequence[Message]) -> None:
    """The validate stage for messages loaded in ``session`` (received ones; not committed)."""
    for message in messages:
        if message.state != MessageState.RECEIVED:
            continue
        pause_point("validate", message.queue_id)
        try:
            data = ctx.spool.read(message.queue_id)
        except SpoolError as exc:  # one lost file must not hold up the batch
            log.error("validate %s: %s", message.queue_id, exc)
            continue
        defects = find_defects(data)
        hostname = message.received_by or ctx.settings.smtp.hostname
        headers = authentication_results(ctx.settings, session, message, data)
        headers += received_header(message, hostname)
        if defects:
            headers += f"X-Mailrs-Defects: {', '.join(defects)}\r\n"
        message.added_headers = headers
        message.defects = ",".join(defects)
        message.state = MessageState.VALIDATED
        detail = f"defects: {message.defects}" if defects else "ok"
        record(session, message, "validated", detail)


def validate_message(queue_id: str) -> str:
    """Run the validate stage for one message; idempotent."""
    validate_messages([queue_id])
    return queue_id


@app.task(name=VALIDATE, ignore_result=True)
def validate(*queue_ids: str) -> list[str]:
    """Celery task: the validate stage for one message or a batch."""
    return validate_messages(queue_ids)
