"""``mailrs dmarc``: import DMARC aggregate reports and show what they say."""

from __future__ import annotations

from pathlib import Path

import click

from mailrs.cli.options import config_option, load_or_fail
from mailrs.db.engine import Database
from mailrs.inbound.dmarc_reports import (
    MAX_XML_BYTES,
    ReportError,
    parse_report,
    recent_reports,
    store_report,
)


@click.group("dmarc")
def dmarc_group() -> None:
    """DMARC aggregate reports others send to our rua address."""


@dmarc_group.command("import")
@config_option
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, exists=True))
def dmarc_import(config_path: str | None, files: tuple[str, ...]) -> None:
    """Import reports: XML, .xml.gz, .zip, or a saved email (.eml) carrying one."""
    db = Database.from_settings(load_or_fail(config_path))
    failed = 0
    try:
        with db.session() as session:
            for name in files:
                try:
                    report = parse_report(Path(name).read_bytes()[: MAX_XML_BYTES + 1])
                except ReportError as exc:
                    click.echo(f"{name}: {exc}", err=True)
                    failed += 1
                    continue
                new = store_report(session, report)
                state = "imported" if new else "already imported"
                click.echo(f"{name}: {state}: {report.org_name} {report.report_id}")
            session.commit()
    finally:
        db.dispose()
    if failed:
        raise SystemExit(1)


@dmarc_group.command("reports")
@config_option
@click.option("--domain", default="", help="only reports about this domain")
@click.option("--limit", default=20, show_default=True, help="newest reports shown")
def dmarc_reports(config_path: str | None, domain: str, limit: int) -> None:
    """Show the newest reports: per source IP, messages, disposition, DKIM and SPF."""
    db = Database.from_settings(load_or_fail(config_path))
    try:
        with db.session() as session:
            reports = recent_reports(session, domain, limit)
            for report in reports:
                span = f"{report.begin:%Y-%m-%d %H:%M} .. {report.end:%Y-%m-%d %H:%M} UTC"
                click.echo(
                    f"{report.domain} (p={report.policy}) from {report.org_name}"
                    f" [{report.report_id}] {span}"
                )
                for r in report.records:
                    click.echo(
                        f"  {r.source_ip:<40} {r.count:>6}  {r.disposition:<10}"
                        f" dkim={r.dkim:<5} spf={r.spf:<5} from={r.header_from}"
                    )
            if not reports:
                click.echo("no reports")
    finally:
        db.dispose()


@dmarc_group.command("send-reports")
@config_option
def dmarc_send_reports(config_path: str | None) -> None:
    """Send the aggregate reports of the finished days now (the workers do it daily)."""
    from mailrs.celery import configure
    from mailrs.inbound.dns_lookup import DnsTemporaryError
    from mailrs.outbound.dmarc_send import queue_due_reports
    from mailrs.queue.canvas import publish
    from mailrs.queue.spool import Spool

    settings = load_or_fail(config_path)
    db = Database.from_settings(settings)
    try:
        queued = queue_due_reports(db, Spool(settings.spool_path), settings)
    except DnsTemporaryError as exc:
        raise click.ClickException(f"DNS lookup failed, nothing sent: {exc}") from None
    finally:
        db.dispose()
    if queued:
        try:
            publish(configure(settings), queued)
        except Exception as exc:  # the workers' sweep sends them once the broker is back
            click.echo(f"queued; the broker is unreachable ({exc}), the workers will send them")
    click.echo(f"{len(queued)} report(s) queued")
