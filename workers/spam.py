"""Stage 2, spam_check: score the message with the configured filter and record the verdict.

The verdict goes on the row (score, symbols, spam or ham) and into the headers added at
delivery (``X-Spam-Status``, ``X-Spam-Score``); route files spam into Junk. A scorer that
fails leaves the message unscored but moving: nothing is dropped for a broken filter.
"""

from __future__ import annotations

import logging
from functools import cache

from sqlalchemy import select

from mailrs.celery import app
from mailrs.config import Settings
from mailrs.models import Message
from mailrs.pipeline import SPAM_CHECK
from mailrs.spam import SpamEnvelope, SpamFilter, is_spam, load_filter, spam_headers
from workers.context import worker_context
from workers.faults import pause_point
from workers.progress import record

log = logging.getLogger(__name__)


@cache
def _filter(settings: Settings) -> SpamFilter:
    return load_filter(settings)


def spam_check_message(queue_id: str) -> str:
    """Run the spam stage for one message; idempotent."""
    ctx = worker_context()
    with ctx.db.session() as session:
        message = session.scalar(select(Message).where(Message.queue_id == queue_id))
        if message is None or message.state != "validated":
            return queue_id  # unknown, not validated yet, or already past this stage
        pause_point("spam_check", queue_id)
        envelope = SpamEnvelope(
            queue_id=queue_id,
            mail_from=message.mail_from,
            recipients=tuple(r.address for r in message.recipients),
            client_addr=message.client_addr,
            helo=message.helo,
            auth_user=message.auth_user,
        )
        data = message.added_headers.encode("utf-8", "surrogateescape") + ctx.spool.read(queue_id)
        try:
            result = _filter(ctx.settings).check(data, envelope)
        except Exception as exc:  # a broken scorer must not stop the mail
            log.warning("spam check of %s failed: %s", queue_id, exc)
            message.spam_verdict = "unchecked"
            message.added_headers += f"X-Spam-Status: Unknown ({type(exc).__name__})\r\n"
            record(session, message, "spam", f"scorer failed: {exc}"[:500])
        else:
            spam = is_spam(ctx.settings, result)
            message.spam_score = result.score
            message.spam_verdict = "spam" if spam else "ham"
            message.spam_symbols = ",".join(result.symbols)
            message.added_headers += spam_headers(ctx.settings, result)
            record(
                session,
                message,
                "spam",
                f"{message.spam_verdict} score={result.score:.1f} {message.spam_symbols}",
            )
        message.state = "checked"
        session.commit()
    return queue_id


@app.task(name=SPAM_CHECK, ignore_result=True)
def spam_check(queue_id: str) -> str:
    """Celery task: the spam stage."""
    return spam_check_message(queue_id)
