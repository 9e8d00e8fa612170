"""The message pipeline's tasks, by name, so any process can start them.

``smtpd`` publishes through this module without importing ``workers``; the tasks behind
these names live in ``workers``. Every task takes queue ids as its arguments (one or a
batch) and is idempotent for each of them. The messages that arrived together (what one
group commit of smtpd accepted) go out as one ``mailrs.pipeline`` task, which runs
validate → spam_check → route → deliver in one worker (``workers.pipeline``); relay
(remote recipients) and bounce (DSNs due) follow per message. A batch costs the broker
one hop whatever its size, and each message still has its own row, history and queue
id in the task's arguments (Flower shows them). The single-stage tasks stay
registered: deliver is sent alone for a retry, and tasks of an older version still
queued at an upgrade run as before.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the app is the caller's: this module loads nothing of Celery
    from celery import Celery
    from celery.canvas import Signature

PIPELINE = "mailrs.pipeline"
VALIDATE = "mailrs.validate"
SPAM_CHECK = "mailrs.spam_check"
ROUTE = "mailrs.route"
DELIVER = "mailrs.deliver"
RELAY = "mailrs.relay"
BOUNCE = "mailrs.bounce"
SWEEP = "mailrs.sweep"
BATCHED = (VALIDATE, DELIVER)
"""Stages whose follow-up tasks take a whole batch; relay and bounce go one per message."""
MAX_BATCH = 100
"""The most queue ids in one task (bounds a task's run time and a retry's redo)."""

Step = tuple[str, str]
"""A task to run next: (task name, queue id)."""


def batches(queue_ids: Sequence[str], size: int = MAX_BATCH) -> list[tuple[str, ...]]:
    """``queue_ids`` cut into tuples of at most ``size``, in order."""
    return [tuple(queue_ids[i : i + size]) for i in range(0, len(queue_ids), size)]


def pipeline_signature(app: Celery, queue_ids: str | Sequence[str]) -> Signature:
    """The pipeline task for one message or a batch, taking the queue ids."""
    ids = (queue_ids,) if isinstance(queue_ids, str) else tuple(queue_ids)
    return app.signature(PIPELINE, args=ids, immutable=True)


def publish(app: Celery, queue_ids: str | Sequence[str]) -> None:
    """Send the pipeline of one message or of a batch (raises if the broker is unreachable).

    A message's first task is always the pipeline: it starts with validate, the stage
    that only a new message needs, and skips what a message has done already.
    """
    ids = [queue_ids] if isinstance(queue_ids, str) else list(queue_ids)
    for batch in batches(ids):
        pipeline_signature(app, batch).apply_async(retry=False)


def dispatch(app: Celery, steps: Iterable[Step]) -> None:
    """Send the next tasks a stage asked for: batched where the stage takes batches."""
    grouped: dict[str, list[str]] = {}
    for name, queue_id in steps:
        ids = grouped.setdefault(name, [])
        if queue_id not in ids:
            ids.append(queue_id)
    for name, ids in grouped.items():
        if name == VALIDATE:
            publish(app, ids)
        elif name in BATCHED:
            for batch in batches(ids):
                app.signature(name, args=batch, immutable=True).apply_async(retry=False)
        else:
            for queue_id in ids:
                app.signature(name, args=(queue_id,), immutable=True).apply_async(retry=False)
