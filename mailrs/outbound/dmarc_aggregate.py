"""DMARC aggregate reports we send (RFC 7489 section 7.2 and appendix C).

Every message evaluated against a DMARC record leaves a ``dmarc_results`` row
(``mailrs.inbound.dmarc_results``). Once a UTC day is over, its rows are grouped by the
domain whose record was used; each group becomes one ``<feedback>`` document, gzip'd,
attached to a message to the ``mailto:`` addresses of that record's ``rua=`` tag and
accepted into our own queue (the relay stage sends and DKIM-signs it). A report address
outside the domain must agree to receive it (section 7.1: a ``v=DMARC1`` TXT record at
``<domain>._report._dmarc.<its domain>``). Each report's queue id is fixed by its domain
and day, so running twice sends nothing twice.
"""

from __future__ import annotations

import datetime as dt
import gzip
import ipaddress
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from xml.etree import ElementTree

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from mailrs.config import Settings
from mailrs.db.models import DmarcResult
from mailrs.inbound.authcheck import organizational_domain, parse_dmarc_record
from mailrs.queue.accept import Envelope, accept_derived
from mailrs.queue.spool import Spool, derived_queue_id

MAX_ROWS = 10_000  # results read per run; the rest waits for the next one
ALIGNMENTS = ("r", "s")
POLICIES = ("none", "quarantine", "reject")

TxtLookup = Callable[[str], list[bytes]]
"""A TXT lookup: name → each record's text (DnsTemporaryError when DNS fails)."""


@dataclass(frozen=True)
class Report:
    """One aggregate report ready to send."""

    domain: str
    begin: dt.datetime
    end: dt.datetime
    recipients: tuple[str, ...]
    xml: bytes
    result_ids: tuple[int, ...]

    @property
    def report_id(self) -> str:
        """Unique per domain and day (section 7.2.1.1 asks for one per report)."""
        return f"{self.domain}!{int(self.begin.timestamp())}"


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The UTC day as [begin, end) datetimes."""
    begin = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
    return begin, begin + dt.timedelta(days=1)


def rua_addresses(record: str) -> list[str]:
    """The ``mailto:`` addresses of a record's ``rua=`` (size limits ``!10m`` dropped)."""
    tags = parse_dmarc_record(record) or {}
    found = []
    for uri in tags.get("rua", "").split(","):
        uri = uri.strip()
        if uri.lower().startswith("mailto:"):
            address = uri[7:].split("!", 1)[0].strip()
            if "@" in address and "\r" not in address and "\n" not in address:
                found.append(address)
    return found


def authorized(domain: str, address: str, txt: TxtLookup) -> bool:
    """May reports about ``domain`` go to ``address`` (RFC 7489 section 7.1)?"""
    target = address.rpartition("@")[2].lower().rstrip(".")
    if organizational_domain(target) == organizational_domain(domain):
        return True
    records = txt(f"{domain}._report._dmarc.{target}")
    return any(r.decode("utf-8", "replace").strip().startswith("v=DMARC1") for r in records)


def _text(parent: ElementTree.Element, name: str, value: object) -> ElementTree.Element:
    child = ElementTree.SubElement(parent, name)
    child.text = str(value)
    return child


def _ip(text: str) -> str:
    """The source address as the schema's pattern wants it (IPv6 written out in full)."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return "0.0.0.0"
    return address.exploded


def feedback_xml(
    settings: Settings,
    domain: str,
    begin: dt.datetime,
    end: dt.datetime,
    rows: Sequence[DmarcResult],
    report_id: str,
) -> bytes:
    """The ``<feedback>`` document of one domain's results (appendix C)."""
    tags = parse_dmarc_record(rows[-1].record) or {}
    root = ElementTree.Element("feedback")
    _text(root, "version", "1.0")
    meta = ElementTree.SubElement(root, "report_metadata")
    _text(meta, "org_name", settings.smtp.hostname or "mailrs")
    _text(meta, "email", report_sender(settings))
    _text(meta, "report_id", report_id)
    date_range = ElementTree.SubElement(meta, "date_range")
    _text(date_range, "begin", int(begin.timestamp()))
    _text(date_range, "end", int(end.timestamp()) - 1)
    published = ElementTree.SubElement(root, "policy_published")
    _text(published, "domain", domain)
    _text(published, "adkim", _choice(tags.get("adkim", "r"), ALIGNMENTS, "r"))
    _text(published, "aspf", _choice(tags.get("aspf", "r"), ALIGNMENTS, "r"))
    policy = _choice(tags.get("p", "none"), POLICIES, "none")
    _text(published, "p", policy)
    _text(published, "sp", _choice(tags.get("sp", policy), POLICIES, policy))
    _text(published, "pct", _percent(tags.get("pct", "100")))
    _text(published, "fo", tags.get("fo", "0") or "0")
    for key, count in _group(rows).items():
        _record(root, key, count)
    body: bytes = ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)
    return body


_Key = tuple[str, str, str, str, str, str, str, str, str, str, str]


def _group(rows: Iterable[DmarcResult]) -> Counter[_Key]:
    """Identical rows counted once (section 7.2: one record per distinct outcome)."""
    return Counter(
        (
            _ip(r.source_ip),
            r.disposition,
            r.dkim_aligned,
            r.spf_aligned,
            r.override,
            r.header_from,
            r.envelope_from,
            r.dkim_results,
            r.spf_domain,
            r.spf_scope,
            r.spf_result,
        )
        for r in rows
    )


def _record(root: ElementTree.Element, key: _Key, count: int) -> None:
    ip, disposition, dkim, spf, override, header_from, envelope_from = key[:7]
    signatures, spf_domain, spf_scope, spf_result = key[7:]
    record = ElementTree.SubElement(root, "record")
    row = ElementTree.SubElement(record, "row")
    _text(row, "source_ip", ip)
    _text(row, "count", count)
    evaluated = ElementTree.SubElement(row, "policy_evaluated")
    _text(evaluated, "disposition", disposition)
    _text(evaluated, "dkim", dkim)
    _text(evaluated, "spf", spf)
    if override:
        reason = ElementTree.SubElement(evaluated, "reason")
        _text(reason, "type", override)
    identifiers = ElementTree.SubElement(record, "identifiers")
    _text(identifiers, "envelope_from", envelope_from)
    _text(identifiers, "header_from", header_from)
    auth = ElementTree.SubElement(record, "auth_results")
    for signature in signatures.split():
        parts = dict(part.split("=", 1) for part in signature.split(";") if "=" in part)
        dkim_result = ElementTree.SubElement(auth, "dkim")
        _text(dkim_result, "domain", parts.get("d", ""))
        if parts.get("s"):
            _text(dkim_result, "selector", parts["s"])
        _text(dkim_result, "result", parts.get("r", "none"))
    spf_result_node = ElementTree.SubElement(auth, "spf")
    _text(spf_result_node, "domain", spf_domain)
    _text(spf_result_node, "scope", spf_scope)
    _text(spf_result_node, "result", spf_result)


def _choice(value: str, allowed: tuple[str, ...], default: str) -> str:
    value = value.strip().lower()
    return value if value in allowed else default


def _percent(text: str) -> int:
    try:
        return max(0, min(100, int(text)))
    except ValueError:
        return 100


def report_sender(settings: Settings) -> str:
    """The address our reports come from."""
    if settings.spam.dmarc_report_from:
        return settings.spam.dmarc_report_from
    domains = settings.smtp.local_domains
    return f"noreply-dmarc@{domains[0] if domains else settings.smtp.hostname}"


def due_reports(
    session: Session, settings: Settings, today: dt.date, txt: TxtLookup
) -> list[Report]:
    """The reports of every finished day with unreported results (not yet sent)."""
    cutoff = day_bounds(today)[0]
    rows = session.scalars(
        select(DmarcResult)
        .where(DmarcResult.reported_at.is_(None), DmarcResult.at < cutoff)
        .order_by(DmarcResult.id)
        .limit(MAX_ROWS)
    ).all()
    groups: dict[tuple[str, dt.date], list[DmarcResult]] = defaultdict(list)
    for row in rows:
        groups[(row.policy_domain, row.at.astimezone(dt.UTC).date())].append(row)
    reports = []
    for (domain, day), results in sorted(groups.items()):
        begin, end = day_bounds(day)
        addresses = [a for a in rua_addresses(results[-1].record) if authorized(domain, a, txt)]
        ids = tuple(r.id for r in results)
        report_id = f"{domain}!{int(begin.timestamp())}"
        xml = feedback_xml(settings, domain, begin, end, results, report_id)
        reports.append(Report(domain, begin, end, tuple(addresses), xml, ids))
    return reports


def report_message(settings: Settings, report: Report) -> bytes:
    """The email carrying one report (section 7.2.1.1: file name, subject, gzip)."""
    receiver = settings.smtp.hostname or "mailrs"
    begin, end = int(report.begin.timestamp()), int(report.end.timestamp()) - 1
    name = f"{receiver}!{report.domain}!{begin}!{end}.xml.gz"
    message = EmailMessage()
    message["From"] = report_sender(settings)
    message["To"] = ", ".join(report.recipients)
    message["Subject"] = (
        f"Report Domain: {report.domain} Submitter: {receiver} Report-ID: <{report.report_id}>"
    )
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=report_sender(settings).rpartition("@")[2])
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(
        f"DMARC aggregate report for {report.domain} from {receiver}, "
        f"{report.begin:%Y-%m-%d} (UTC).\n"
    )
    message.add_attachment(
        gzip.compress(report.xml, mtime=0),
        maintype="application",
        subtype="gzip",
        filename=name,
    )
    return message.as_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def queue_reports(
    session: Session, spool: Spool, settings: Settings, reports: Iterable[Report]
) -> list[str]:
    """Accept each report with recipients into the queue, mark its results reported.

    Returns the queue ids of the new messages (publish them after the caller commits).
    """
    queued = []
    now = dt.datetime.now(dt.UTC)
    for report in reports:
        if report.recipients:
            queue_id = derived_queue_id(report.report_id, "dmarc-aggregate")
            envelope = Envelope(
                mail_from=report_sender(settings),
                recipients=report.recipients,
                client_addr="127.0.0.1",
                received_by=settings.smtp.hostname,
            )
            data = report_message(settings, report)
            note = f"DMARC aggregate report for {report.domain}"
            if accept_derived(session, spool, queue_id, envelope, data, note):
                queued.append(queue_id)
        session.execute(
            update(DmarcResult).where(DmarcResult.id.in_(report.result_ids)).values(reported_at=now)
        )
    return queued
