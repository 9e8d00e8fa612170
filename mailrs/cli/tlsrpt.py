"""``mailrs tlsrpt``: the daily TLS-RPT reports (RFC 8460) of our outbound TLS results."""

from __future__ import annotations

import datetime as dt
import json

import click

from mailrs.cli.options import config_option, load_or_fail
from mailrs.db.engine import Database
from mailrs.outbound.tlsrpt import build_reports, send_day


def _day(value: str | None) -> dt.date:
    if not value:
        return dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"not a date (YYYY-MM-DD): {value!r}") from None


DAY = click.option("--day", default=None, help="UTC day, YYYY-MM-DD (default: yesterday)")


@click.group("tlsrpt")
def tlsrpt_group() -> None:
    """TLS reports (RFC 8460) about the mail we sent to other domains."""


@tlsrpt_group.command("send")
@config_option
@DAY
def tlsrpt_send(config_path: str | None, day: str | None) -> None:
    """Mail each domain its report for the day (once; the beat task does this daily)."""
    settings = load_or_fail(config_path)
    db = Database.from_settings(settings)
    try:
        lines = send_day(settings, db, _day(day))
    finally:
        db.dispose()
    for line in lines or ["no TLS results for that day"]:
        click.echo(line)


@tlsrpt_group.command("show")
@config_option
@DAY
def tlsrpt_show(config_path: str | None, day: str | None) -> None:
    """Print the day's reports as JSON (nothing is sent)."""
    settings = load_or_fail(config_path)
    db = Database.from_settings(settings)
    try:
        with db.session() as session:
            reports = build_reports(session, settings, _day(day), None)
            click.echo(json.dumps([r.document for r in reports], indent=2))
    finally:
        db.dispose()
