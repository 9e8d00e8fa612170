"""The pipeline of a batch in one task: validate → spam_check → route → deliver.

smtpd (and every other publisher, through ``mailrs.queue.canvas.publish``) sends one
``mailrs.pipeline`` task for the messages that arrived together. It runs the stages one
after the other in this process, each as it would run as its own task: each loads the
batch, commits its results for every message, and is idempotent per message, so a task
killed half way and run again (``acks_late``, or the sweeper's re-publish) resumes each
message where it stands (validate and spam_check share one transaction: a message goes
from received to checked in one commit). What one batch used to cost in broker hops (a
chain of three tasks, then deliver) is one task; each message keeps its own row, history
and retry state, and its queue id is in the task's arguments (Flower shows them). Relay
and bounce still go one task per message (they wait on the network).
"""

from __future__ import annotations

from collections.abc import Sequence

from mailrs.celery import app
from mailrs.queue.canvas import DELIVER, PIPELINE, Step, dispatch
from mailrs.queue.claims import Claims
from mailrs.queue.states import MessageState
from workers.context import worker_context
from workers.deliver import deliver_messages
from workers.metrics import stage_timer
from workers.route import route_batch
from workers.spam import spam_check_loaded
from workers.transitions import commit_stage
from workers.validate import load_in_states, validate_loaded


def check_messages(queue_ids: Sequence[str]) -> None:
    """validate then spam_check for a batch, in one transaction (one load, one commit).

    Each message is written only if its row is still as loaded (``commit_stage``).
    """
    ctx = worker_context()
    with ctx.db.session() as session:
        messages = load_in_states(session, queue_ids, MessageState.RECEIVED, MessageState.VALIDATED)
        loaded = {m.id: m.state for m in messages}
        with session.no_autoflush:  # nothing written before commit_stage's checks
            with stage_timer("validate"):
                validate_loaded(ctx, session, messages)
            with stage_timer("spam_check"):
                spam_check_loaded(ctx, session, messages)
        commit_stage(session, messages, loaded)


def run_pipeline(queue_ids: Sequence[str]) -> list[Step]:
    """Every stage up to the Maildir for a batch; returns the tasks still to send.

    The messages another runner holds (``mailrs.queue.claims``) are left to it.
    """
    with Claims(worker_context().spool) as claims:
        mine = claims.take(queue_ids)
        if not mine:
            return []
        check_messages(mine)
        with stage_timer("route"):
            routed = route_batch(mine, claims)  # local deliveries marked in its commit
        local = [queue_id for name, queue_id in routed.steps if name == DELIVER]
        rest = [step for step in routed.steps if step[0] != DELIVER]
        if local:
            with stage_timer("deliver"):
                rest += deliver_messages(local, claims, routed.marked)
    return rest


@app.task(name=PIPELINE, ignore_result=True)
def pipeline(*queue_ids: str) -> None:
    """Celery task: the whole pipeline for one message or a batch."""
    dispatch(app, run_pipeline(queue_ids))
