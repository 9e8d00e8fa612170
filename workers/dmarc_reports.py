"""Daily DMARC aggregate reports (``[spam] dmarc_send_reports``): queued by the workers.

Each worker's sweeper thread calls ``send_if_due`` (at most once an hour); the task
``mailrs.dmarc_reports`` does the same for sites that run Celery beat. Reports are
idempotent by domain and day, so several workers never send one twice.
"""

from __future__ import annotations

import logging
import time

from mailrs.celery import app
from mailrs.inbound.dns_lookup import DnsTemporaryError
from mailrs.outbound.dmarc_send import queue_due_reports
from mailrs.queue.canvas import VALIDATE, dispatch
from workers.context import worker_context

log = logging.getLogger(__name__)
INTERVAL_SECS = 3600.0
_last_run = [0.0]


def send_reports() -> int:
    """Queue and publish the reports due now; how many were queued."""
    ctx = worker_context()
    try:
        queued = queue_due_reports(ctx.db, ctx.spool, ctx.settings)
    except DnsTemporaryError as exc:
        log.warning("DMARC reports: DNS failed, trying again later: %s", exc)
        return 0
    dispatch(app, [(VALIDATE, queue_id) for queue_id in queued])
    if queued:
        log.info("DMARC reports: %d queued", len(queued))
    return len(queued)


def send_if_due() -> None:
    """``send_reports`` when enabled and an hour has passed since the last run here."""
    if not worker_context().settings.spam.dmarc_send_reports:
        return
    now = time.monotonic()
    if _last_run[0] and now - _last_run[0] < INTERVAL_SECS:
        return
    _last_run[0] = now
    send_reports()


@app.task(name="mailrs.dmarc_reports", ignore_result=True)
def dmarc_reports() -> int:
    """Celery task: queue the DMARC aggregate reports that are due (when enabled)."""
    if not worker_context().settings.spam.dmarc_send_reports:
        return 0
    return send_reports()
