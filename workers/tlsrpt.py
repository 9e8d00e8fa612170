"""The daily TLS-RPT task (RFC 8460): yesterday's reports, for sites that run Celery beat."""

from __future__ import annotations

import datetime as dt
import logging

from mailrs.celery import app
from mailrs.outbound.tlsrpt import send_day
from workers.context import worker_context

log = logging.getLogger(__name__)
TLSRPT = "mailrs.tlsrpt"


@app.task(name=TLSRPT, ignore_result=True)
def tlsrpt() -> int:
    """Celery task: send yesterday's TLS reports (each domain's at most once)."""
    ctx = worker_context()
    day = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    lines = send_day(ctx.settings, ctx.db, day)
    for line in lines:
        log.info("tlsrpt %s: %s", day, line)
    return len(lines)
