"""Stage 1, validate: parse the spooled bytes, note defects, prepare the trace headers.

Nothing is refused here: a message that does not parse is delivered as it came, with a
header that names its defects. The headers to add are stored on the row, not written
into the spool file, so running the stage twice changes nothing.
"""

from __future__ import annotations

from email.parser import BytesParser
from email.policy import default as default_policy

from sqlalchemy import select

from mailrs.celery import app
from mailrs.models import Message, MessageEvent
from mailrs.pipeline import VALIDATE
from mailrs.received import received_header
from workers.context import worker_context
from workers.faults import pause_point

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


def validate_message(queue_id: str) -> str:
    """Run the validate stage for one message; idempotent."""
    ctx = worker_context()
    with ctx.db.session() as session:
        message = session.scalar(select(Message).where(Message.queue_id == queue_id))
        if message is None or message.state != "received":
            return queue_id  # unknown, or already past this stage
        pause_point("validate", queue_id)
        data = ctx.spool.read(queue_id)
        defects = find_defects(data)
        headers = received_header(message, message.received_by or ctx.settings.smtp.hostname)
        if defects:
            headers += f"X-Mailrs-Defects: {', '.join(defects)}\r\n"
        message.added_headers = headers
        message.defects = ",".join(defects)
        message.state = "validated"
        detail = f"defects: {message.defects}" if defects else "ok"
        session.add(MessageEvent(message_id=message.id, stage="validated", detail=detail))
        session.commit()
    return queue_id


@app.task(name=VALIDATE, ignore_result=True)
def validate(queue_id: str) -> str:
    """Celery task: the validate stage."""
    return validate_message(queue_id)
