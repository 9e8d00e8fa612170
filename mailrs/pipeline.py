"""The message pipeline's canvas, by task name, so any process can start it.

``smtpd`` publishes through this module without importing ``workers``; the tasks behind
these names live in ``workers``. One chain per message: validate → deliver.
"""

from __future__ import annotations

from celery import Celery, chain
from celery.canvas import Signature

VALIDATE = "mailrs.validate"
DELIVER = "mailrs.deliver"
SWEEP = "mailrs.sweep"
STAGES = (VALIDATE, DELIVER)


def pipeline_signature(app: Celery, queue_id: str) -> Signature:
    """The chain of stages for one message, each taking only the queue id."""
    return chain(*(app.signature(name, args=(queue_id,), immutable=True) for name in STAGES))


def publish(app: Celery, queue_id: str) -> None:
    """Send one message's pipeline to the broker (raises if the broker is unreachable)."""
    pipeline_signature(app, queue_id).apply_async(retry=False)
