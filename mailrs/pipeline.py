"""The message pipeline's canvas, by task name, so any process can start it.

``smtpd`` publishes through this module without importing ``workers``; the tasks behind
these names live in ``workers``. One chain per message, keyed by its queue id:
validate → spam_check → route; route then sends deliver (local recipients) and relay
(remote ones) to their queues, and those send bounce when a DSN is due. Every task
takes only the queue id and is idempotent.
"""

from __future__ import annotations

from collections.abc import Iterable

from celery import Celery, chain
from celery.canvas import Signature

VALIDATE = "mailrs.validate"
SPAM_CHECK = "mailrs.spam_check"
ROUTE = "mailrs.route"
DELIVER = "mailrs.deliver"
RELAY = "mailrs.relay"
BOUNCE = "mailrs.bounce"
SWEEP = "mailrs.sweep"
STAGES = (VALIDATE, SPAM_CHECK, ROUTE)

Step = tuple[str, str]
"""A task to run next: (task name, queue id)."""


def pipeline_signature(app: Celery, queue_id: str) -> Signature:
    """The chain of stages for one message, each taking only the queue id."""
    return chain(*(app.signature(name, args=(queue_id,), immutable=True) for name in STAGES))


def publish(app: Celery, queue_id: str) -> None:
    """Send one message's pipeline to the broker (raises if the broker is unreachable)."""
    pipeline_signature(app, queue_id).apply_async(retry=False)


def dispatch(app: Celery, steps: Iterable[Step]) -> None:
    """Send the next tasks a stage asked for (a new message's whole pipeline for VALIDATE)."""
    for name, queue_id in steps:
        if name == VALIDATE:
            publish(app, queue_id)
        else:
            app.signature(name, args=(queue_id,), immutable=True).apply_async(retry=False)
