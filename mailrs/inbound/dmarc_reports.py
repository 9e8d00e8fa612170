"""DMARC aggregate reports (RFC 7489 section 7.2, appendix C): parse what others send us.

A report arrives as XML, gzip'd XML, a zip holding one XML file, or a whole email with
one of those attached. The XML is parsed with expat (which refuses entity expansion
attacks since 2.4.1) after a size cap on the decompressed bytes.
"""

from __future__ import annotations

import datetime as dt
import gzip
import io
import zipfile
import zlib
from dataclasses import dataclass, field
from email import message_from_bytes
from email.policy import default as default_policy
from xml.etree import ElementTree

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from mailrs.db.models import DmarcRecord, DmarcReport

MAX_XML_BYTES = 32 * 1024 * 1024


class ReportError(ValueError):
    """Input that is not a DMARC aggregate report."""


@dataclass(frozen=True)
class Row:
    """One <record>: a source IP, how many messages, and what was decided."""

    source_ip: str
    count: int
    disposition: str
    dkim: str
    spf: str
    header_from: str


@dataclass(frozen=True)
class Report:
    """One aggregate report."""

    org_name: str
    report_id: str
    domain: str
    policy: str
    begin: dt.datetime
    end: dt.datetime
    rows: list[Row] = field(default_factory=list)


def _xml_bytes(data: bytes) -> bytes:
    """The XML inside ``data`` (raw, gzip, zip, or an email carrying one of those)."""
    if data[:2] == b"\x1f\x8b":
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(data)) as fh:
                out = fh.read(MAX_XML_BYTES + 1)
        except (OSError, EOFError, zlib.error) as exc:
            raise ReportError(f"bad gzip: {exc}") from exc
    elif data[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = [n for n in archive.namelist() if n.lower().endswith(".xml")]
                if not names:
                    raise ReportError("no XML file in the zip")
                with archive.open(names[0]) as fh:
                    out = fh.read(MAX_XML_BYTES + 1)
        except (zipfile.BadZipFile, OSError, zlib.error) as exc:
            raise ReportError(f"bad zip: {exc}") from exc
    elif data.lstrip()[:1] == b"<":
        out = data
    else:
        return _from_email(data)
    if len(out) > MAX_XML_BYTES:
        raise ReportError("report too large")
    return out


def _from_email(data: bytes) -> bytes:
    """The report attached to an email (the first gzip, zip or XML part)."""
    message = message_from_bytes(data, policy=default_policy)
    for part in message.walk():
        if part.is_multipart():
            continue
        kind = part.get_content_type()
        name = (part.get_filename() or "").lower()
        if (
            kind in ("application/gzip", "application/x-gzip", "application/zip")
            or name.endswith((".xml", ".gz", ".zip"))
            or kind in ("text/xml", "application/xml")
        ):
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes) and payload:
                return _xml_bytes(payload)
    raise ReportError("no report found in the message")


def _text(node: ElementTree.Element | None, path: str, default: str = "") -> str:
    """The stripped text at ``path`` under ``node``."""
    found = node.find(path) if node is not None else None
    return (found.text or "").strip() if found is not None else default


def _time(text: str) -> dt.datetime:
    """A report's Unix time stamp."""
    try:
        return dt.datetime.fromtimestamp(int(text), dt.UTC)
    except (ValueError, OverflowError, OSError) as exc:
        raise ReportError(f"bad date range value {text!r}") from exc


def parse_report(data: bytes) -> Report:
    """Parse one aggregate report; ReportError for anything else."""
    try:
        root = ElementTree.fromstring(_xml_bytes(data))
    except ElementTree.ParseError as exc:
        raise ReportError(f"not XML: {exc}") from exc
    if root.tag != "feedback":
        raise ReportError("not a DMARC aggregate report (no <feedback>)")
    meta = root.find("report_metadata")
    policy = root.find("policy_published")
    report_id = _text(meta, "report_id")
    if not report_id or meta is None or policy is None:
        raise ReportError("report_metadata and policy_published are required")
    rows = []
    for record in root.findall("record"):
        try:
            count = int(_text(record, "row/count", "0"))
        except ValueError as exc:
            raise ReportError("bad count") from exc
        rows.append(
            Row(
                source_ip=_text(record, "row/source_ip")[:64],
                count=count,
                disposition=_text(record, "row/policy_evaluated/disposition")[:16],
                dkim=_text(record, "row/policy_evaluated/dkim")[:8],
                spf=_text(record, "row/policy_evaluated/spf")[:8],
                header_from=_text(record, "identifiers/header_from")[:253],
            )
        )
    return Report(
        org_name=_text(meta, "org_name")[:200],
        report_id=report_id[:200],
        domain=_text(policy, "domain")[:253],
        policy=_text(policy, "p")[:16],
        begin=_time(_text(meta, "date_range/begin", "0")),
        end=_time(_text(meta, "date_range/end", "0")),
        rows=rows,
    )


def store_report(session: Session, report: Report) -> bool:
    """Add a report and its rows (False when the same org's report id is there already)."""
    known = session.scalar(
        select(DmarcReport.id).where(
            DmarcReport.org_name == report.org_name, DmarcReport.report_id == report.report_id
        )
    )
    if known is not None:
        return False
    row = DmarcReport(
        org_name=report.org_name,
        report_id=report.report_id,
        domain=report.domain,
        policy=report.policy,
        begin=report.begin,
        end=report.end,
    )
    row.records = [
        DmarcRecord(
            source_ip=r.source_ip,
            count=r.count,
            disposition=r.disposition,
            dkim=r.dkim,
            spf=r.spf,
            header_from=r.header_from,
        )
        for r in report.rows
    ]
    session.add(row)
    return True


def recent_reports(session: Session, domain: str = "", limit: int = 20) -> list[DmarcReport]:
    """The newest imported reports (with their rows), optionally about one domain."""
    query = select(DmarcReport).options(selectinload(DmarcReport.records))
    if domain:
        query = query.where(DmarcReport.domain == domain.strip().lower())
    query = query.order_by(DmarcReport.end.desc(), DmarcReport.id.desc())
    return list(session.scalars(query.limit(max(1, min(limit, 500)))).all())
