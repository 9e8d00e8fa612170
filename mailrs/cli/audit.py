"""``mailrs pipeline`` and ``mailrs logins``: the admin area's pipeline figures and login
audit on the command line (``--json`` for scripts)."""

from __future__ import annotations

import json
from dataclasses import asdict

import click

from mailrs.accounts.login_audit import MAX_AUDIT, recent_logins
from mailrs.cli.options import config_option, load_or_fail
from mailrs.db.engine import Database
from mailrs.queue.figures import pipeline_figures


def _counts(by_state: dict[str, int]) -> str:
    return "  ".join(f"{state}={n}" for state, n in sorted(by_state.items())) or "none"


@click.command("pipeline")
@config_option
@click.option("--hours", default=24, show_default=True, type=click.IntRange(1, 24 * 90))
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
def pipeline(config_path: str | None, hours: int, as_json: bool) -> None:
    """Per pipeline stage over the last HOURS: events, mean and worst seconds after receipt."""
    settings = load_or_fail(config_path)
    db = Database.from_settings(settings)
    try:
        with db.session() as session:
            figures = pipeline_figures(session, hours)
    finally:
        db.dispose()
    flower = settings.celery.flower_url
    if as_json:
        click.echo(json.dumps({**asdict(figures), "flower_url": flower}))
        return
    click.echo(f"{'stage':<14}{'count':>8}{'mean s':>10}{'worst s':>10}   (last {hours} h)")
    for s in figures.stages:
        click.echo(f"{s.stage:<14}{s.count:>8}{s.mean_secs:>10.2f}{s.max_secs:>10.2f}")
    if not figures.stages:
        click.echo("(nothing happened in this window)")
    click.echo(f"queued: {figures.queued}  failure events: {figures.failures}")
    click.echo(f"messages by state: {_counts(figures.messages_by_state)}")
    click.echo(f"deliveries by state: {_counts(figures.deliveries_by_state)}")
    if flower:
        click.echo(f"flower: {flower}")


@click.command("logins")
@config_option
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, MAX_AUDIT))
@click.option("--address", default="", help="Only this account's attempts.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def logins(config_path: str | None, limit: int, address: str, as_json: bool) -> None:
    """The latest web and API login attempts, newest first: when, outcome, via, who, from."""
    settings = load_or_fail(config_path)
    db = Database.from_settings(settings)
    try:
        with db.session() as session:
            events = [
                (e.at.isoformat(timespec="seconds"), e.outcome, e.via, e.address, e.client_addr)
                for e in recent_logins(session, limit, address)
            ]
    finally:
        db.dispose()
    for at, outcome, via, who, client in events:
        if as_json:
            row = {"at": at, "outcome": outcome, "via": via, "address": who, "client_addr": client}
            click.echo(json.dumps(row))
        else:
            click.echo(f"{at}  {outcome:<9} {via:<4} {who}  {client}")
    if not events and not as_json:
        click.echo("no login attempts recorded")
