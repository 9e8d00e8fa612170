"""TLS-RPT (RFC 8460): the daily report of our outbound TLS results, mailed to each domain.

The results ``workers.relay`` recorded (``tls_results``) for one UTC day are grouped per
recipient domain and policy into the JSON report of RFC 8460 section 4 (summary counts
and failure details per result type, MX host and address), gzipped, and sent as a
``multipart/report; report-type="tlsrpt"`` message to the ``mailto:`` addresses of the
domain's ``_smtp._tls`` TXT record (``v=TLSRPTv1; rua=…``). Each report is accepted
into our own pipeline under a queue id fixed by domain and day, so sending the day
twice sends each report once; relay then delivers it like any other message.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import gzip
import json
import urllib.parse
from collections import defaultdict
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from typing import Any

import dns.exception
import dns.resolver
from sqlalchemy import select
from sqlalchemy.orm import Session

from mailrs.config import Settings
from mailrs.db.engine import Database
from mailrs.db.models import TlsResult
from mailrs.queue.accept import Envelope, accept_derived
from mailrs.queue.spool import Spool, derived_queue_id

MAX_RUA = 5


@dataclass(frozen=True)
class Report:
    """One domain's report for one day, and where it goes."""

    domain: str
    report_id: str
    document: dict[str, Any]
    rua: tuple[str, ...]


def rua_addresses(resolver: dns.resolver.Resolver, domain: str) -> tuple[str, ...]:
    """The ``mailto:`` addresses of ``_smtp._tls.<domain>`` (none without exactly one record)."""
    try:
        answer = resolver.resolve(f"_smtp._tls.{domain}", "TXT")
    except dns.exception.DNSException:
        return ()
    records = [b"".join(r.strings).decode("ascii", "replace") for r in answer]
    records = [r for r in records if r.startswith("v=TLSRPTv1")]
    if len(records) != 1:
        return ()
    fields = dict(part.strip().partition("=")[::2] for part in records[0].split(";"))
    found = []
    for uri in fields.get("rua", "").split(","):
        uri = uri.strip()
        if uri.lower().startswith("mailto:"):
            address = urllib.parse.unquote(uri[7:].split("?")[0])
            if "@" in address and address.isprintable() and " " not in address:
                found.append(address)
    return tuple(found[:MAX_RUA])


def day_span(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The UTC start and end (exclusive) of ``day``."""
    start = dt.datetime.combine(day, dt.time(), dt.UTC)
    return start, start + dt.timedelta(days=1)


def _policy_block(domain: str, kind: str, text: str, rows: list[TlsResult]) -> dict[str, Any]:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    policy: dict[str, Any] = {"policy-type": kind, "policy-domain": domain}
    if kind == "sts":
        policy["policy-string"] = lines
        policy["mx-host"] = [line[3:].strip() for line in lines if line.startswith("mx:")]
    good = sum(1 for r in rows if r.result == "success")
    failures: dict[tuple[str, str, str], int] = defaultdict(int)
    for row in rows:
        if row.result != "success":
            failures[(row.result, row.mx_host, row.receiving_ip)] += 1
    details = []
    for (result, mx, ip), count in sorted(failures.items()):
        detail: dict[str, Any] = {"result-type": result, "failed-session-count": count}
        if mx:
            detail["receiving-mx-hostname"] = mx
        if ip:
            detail["receiving-ip"] = ip
        details.append(detail)
    block: dict[str, Any] = {
        "policy": policy,
        "summary": {
            "total-successful-session-count": good,
            "total-failure-session-count": len(rows) - good,
        },
    }
    if details:
        block["failure-details"] = details
    return block


def build_reports(
    session: Session, settings: Settings, day: dt.date, resolver: dns.resolver.Resolver | None
) -> list[Report]:
    """The reports of ``day``, one per domain we sent to (with rua when given a resolver)."""
    start, end = day_span(day)
    rows = session.scalars(
        select(TlsResult).where(TlsResult.at >= start, TlsResult.at < end).order_by(TlsResult.id)
    ).all()
    by_domain: dict[str, dict[tuple[str, str], list[TlsResult]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for row in rows:
        by_domain[row.policy_domain][(row.policy_type, row.policy_text)].append(row)
    submitter = settings.smtp.hostname
    reports = []
    for domain, groups in sorted(by_domain.items()):
        report_id = f"{day.isoformat()}.{domain}@{submitter}"
        document = {
            "organization-name": submitter,
            "date-range": {
                "start-datetime": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "end-datetime": (end - dt.timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            },
            "contact-info": f"postmaster@{submitter}",
            "report-id": report_id,
            "policies": [
                _policy_block(domain, kind, text, group)
                for (kind, text), group in sorted(groups.items())
            ],
        }
        rua = rua_addresses(resolver, domain) if resolver is not None else ()
        reports.append(Report(domain, report_id, document, rua))
    return reports


def report_message(settings: Settings, report: Report, day: dt.date) -> bytes:
    """The report as a ``multipart/report; report-type="tlsrpt"`` message (RFC 8460 5.3)."""
    submitter = settings.smtp.hostname
    start, end = day_span(day)
    gz = gzip.compress(json.dumps(report.document, indent=1).encode(), mtime=0)
    name = f"{submitter}!{report.domain}!{int(start.timestamp())}!{int(end.timestamp())}.json.gz"
    message = EmailMessage()
    message["From"] = f"TLS reporting <postmaster@{submitter}>"
    message["To"] = ", ".join(report.rua)
    message["Subject"] = (
        f"Report Domain: {report.domain} Submitter: {submitter} Report-ID: <{report.report_id}>"
    )
    message["Date"] = email.utils.format_datetime(dt.datetime.now(dt.UTC))
    message["Message-ID"] = email.utils.make_msgid(domain=submitter)
    message["TLS-Report-Domain"] = report.domain
    message["TLS-Report-Submitter"] = submitter
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(
        f"This is the TLS report of {submitter} for mail it sent to {report.domain}"
        f" on {day.isoformat()} (UTC).\n"
    )
    message.add_attachment(gz, maintype="application", subtype="tlsrpt+gzip", filename=name)
    message.set_type("multipart/report")
    message.set_param("report-type", "tlsrpt")
    return message.as_bytes(policy=SMTP)


def accept_reports(
    session: Session, spool: Spool, settings: Settings, reports: list[Report], day: dt.date
) -> list[str]:
    """Accept each report that has a rua into the pipeline (once per domain and day).

    Returns the queue ids made now; the caller commits, then publishes them.
    """
    made = []
    for report in reports:
        if not report.rua:
            continue
        queue_id = derived_queue_id(f"tlsrpt/{day.isoformat()}", report.domain)
        envelope = Envelope(
            mail_from=f"postmaster@{settings.smtp.hostname}",
            recipients=report.rua,
            client_addr="127.0.0.1",
            helo=settings.smtp.hostname,
            received_by=settings.smtp.hostname,
        )
        data = report_message(settings, report, day)
        note = f"TLS report for {report.domain} ({day.isoformat()})"
        if accept_derived(session, spool, queue_id, envelope, data, note):
            made.append(queue_id)
    return made


def send_day(settings: Settings, db: Database, day: dt.date) -> list[str]:
    """Build, accept and publish the reports of ``day``; one line per domain about it."""
    from mailrs.celery import configure
    from mailrs.outbound.mx import make_resolver
    from mailrs.queue.publish import publish_and_mark

    spool = Spool(settings.spool_path)
    spool.ensure()
    lines = []
    with db.session() as session:
        reports = build_reports(session, settings, day, make_resolver(settings.relay))
        made = accept_reports(session, spool, settings, reports, day)
        session.commit()
    queued = {queue_id: None for queue_id in made}
    for report in reports:
        queue_id = derived_queue_id(f"tlsrpt/{day.isoformat()}", report.domain)
        if not report.rua:
            lines.append(f"{report.domain}: no rua (no _smtp._tls record with a mailto:)")
        elif queue_id in queued:
            lines.append(f"{report.domain}: report queued as {queue_id} to {', '.join(report.rua)}")
        else:
            lines.append(f"{report.domain}: already sent ({queue_id})")
    if made:
        publish_and_mark(configure(settings), db, made)  # broker down: the sweeper sends them
    return lines
