"""Stage 2, spam_check: score the message with the configured filter and record the verdict.

The verdict goes on the row (score, symbols, spam or ham) and into the headers added at
delivery (``X-Spam-Status``, ``X-Spam-Score``); route files spam into Junk. A scorer that
fails leaves the message unscored but moving: nothing is dropped for a broken filter.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import cache

from sqlalchemy.orm import Session

from mailrs.celery import app
from mailrs.config import Settings
from mailrs.db.models import Message
from mailrs.errors import SpoolError
from mailrs.inbound.spam import SpamEnvelope, SpamFilter, is_spam, load_filter, spam_headers
from mailrs.queue.canvas import SPAM_CHECK
from mailrs.queue.message_bytes import message_bytes
from mailrs.queue.states import MessageState
from workers.context import WorkerContext, worker_context
from workers.faults import pause_point
from workers.progress import record
from workers.transitions import commit_stage
from workers.validate import load_in_states

log = logging.getLogger(__name__)


@cache
def _filter(settings: Settings) -> SpamFilter:
    return load_filter(settings)


def spam_check_messages(queue_ids: Sequence[str]) -> list[str]:
    """Run the spam stage for a batch in one transaction; idempotent per message."""
    ctx = worker_context()
    with ctx.db.session() as session:
        # the others are unknown, not validated yet, or already past this stage
        messages = load_in_states(session, queue_ids, MessageState.VALIDATED)
        loaded = {m.id: m.state for m in messages}
        with session.no_autoflush:  # nothing written before commit_stage's checks
            spam_check_loaded(ctx, session, messages)
        commit_stage(session, messages, loaded)
    return list(queue_ids)


def spam_check_loaded(ctx: WorkerContext, session: Session, messages: Sequence[Message]) -> None:
    """The spam stage for messages loaded in ``session`` (validated ones; not committed)."""
    for message in messages:
        if message.state != MessageState.VALIDATED:
            continue
        pause_point("spam_check", message.queue_id)
        try:
            data = message_bytes(ctx.settings, ctx.spool, message)
        except SpoolError as exc:  # one lost file must not hold up the batch
            log.error("spam check %s: %s", message.queue_id, exc)
            continue
        _check(ctx.settings, session, message, data)


def _check(settings: Settings, session: Session, message: Message, data: bytes) -> None:
    """Score one message (as ``message_bytes`` gives it) and record the verdict (not committed)."""
    envelope = SpamEnvelope(
        queue_id=message.queue_id,
        mail_from=message.mail_from,
        recipients=tuple(r.address for r in message.recipients),
        client_addr=message.client_addr,
        helo=message.helo,
        auth_user=message.auth_user,
    )
    try:
        result = _filter(settings).check(data, envelope)
    except Exception as exc:  # a broken scorer must not stop the mail
        log.warning("spam check of %s failed: %s", message.queue_id, exc)
        message.spam_verdict = "unchecked"
        message.added_headers += f"X-Spam-Status: Unknown ({type(exc).__name__})\r\n"
        record(session, message, "spam", f"scorer failed: {exc}"[:500])
    else:
        spam = is_spam(settings, result)
        message.spam_score = result.score
        message.spam_verdict = "spam" if spam else "ham"
        message.spam_symbols = ",".join(result.symbols)
        message.added_headers += spam_headers(settings, result)
        record(
            session,
            message,
            "spam",
            f"{message.spam_verdict} score={result.score:.1f} {message.spam_symbols}",
        )
    message.state = MessageState.CHECKED


def spam_check_message(queue_id: str) -> str:
    """Run the spam stage for one message; idempotent."""
    spam_check_messages([queue_id])
    return queue_id


@app.task(name=SPAM_CHECK, ignore_result=True)
def spam_check(*queue_ids: str) -> list[str]:
    """Celery task: the spam stage for one message or a batch."""
    return spam_check_messages(queue_ids)
