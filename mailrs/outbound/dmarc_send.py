"""Send the DMARC aggregate reports that are due: one run, from a worker or the CLI."""

from __future__ import annotations

import datetime as dt

from mailrs.config import Settings
from mailrs.db.engine import Database
from mailrs.inbound.dns_lookup import Lookup
from mailrs.outbound.dmarc_aggregate import due_reports, queue_reports
from mailrs.outbound.mx import make_resolver
from mailrs.queue.spool import Spool

DNS_BUDGET_SECS = 60.0


def queue_due_reports(
    db: Database, spool: Spool, settings: Settings, today: dt.date | None = None
) -> list[str]:
    """Queue the reports of the finished days; their queue ids (publish them, or the sweep will).

    A DNS failure while checking a report address raises ``DnsTemporaryError`` with
    nothing changed, so the next run tries again.
    """
    lookup = Lookup.with_budget(make_resolver(settings.relay), DNS_BUDGET_SECS)
    day = today or dt.datetime.now(dt.UTC).date()
    with db.session() as session:
        reports = due_reports(session, settings, day, lookup.txt)
        queued = queue_reports(session, spool, settings, reports)
        session.commit()
    return queued
