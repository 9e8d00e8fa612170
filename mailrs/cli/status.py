"""``mailrs status``: is the supervisor alive, and each service's pid, uptime and restarts.

It reads the state file ``mailrs up`` keeps (``mailrs.cli.runstate``) and checks every
pid against ``/proc`` itself, so a supervisor that was killed without a word is reported
as gone rather than trusted. Exit status: 0 while the supervisor runs, 3 when it does not
(the LSB code for "not running").
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict

import click

from mailrs.cli.options import config_option, load_or_fail
from mailrs.cli.runstate import RunState, human_secs, is_alive, read_state, state_file

NOT_RUNNING = 3


def _service_rows(run: RunState, alive: bool) -> list[tuple[str, ...]]:
    now = time.time()
    rows: list[tuple[str, ...]] = [("SERVICE", "STATE", "PID", "UPTIME", "RESTARTS", "LAST EXIT")]
    for svc in run.services:
        running = alive and is_alive(svc.pid, svc.pid_start)
        state = svc.state if alive or svc.state == "failed" else "stopped"
        if alive and svc.pid and not running and state not in ("backoff", "failed"):
            state = "dead"
        pid = str(svc.pid) if running else "-"
        uptime = human_secs(now - svc.started_at) if running and svc.started_at else "-"
        last = svc.last_exit or "-"
        if svc.last_exit_at:
            last += f" ({human_secs(now - svc.last_exit_at)} ago)"
        rows.append((svc.name, state, pid, uptime, str(svc.restarts), last))
    return rows


@click.command("status")
@config_option
@click.option("--json", "as_json", is_flag=True, help="Print the state as JSON.")
def status(config_path: str | None, as_json: bool) -> None:
    """Show whether mailrs runs, and each service's pid, uptime and restarts."""
    settings = load_or_fail(config_path)
    path = state_file(settings.data_dir)
    run = read_state(path)
    if run is None:
        click.echo(f"mailrs is not running (no state in {path})")
        sys.exit(NOT_RUNNING)
    alive = is_alive(run.pid, run.pid_start) and run.state not in ("stopped", "failed")
    if as_json:
        data = asdict(run)
        data["supervisor_alive"] = alive
        for svc in data["services"]:
            svc["alive"] = alive and is_alive(svc["pid"], svc["pid_start"])
        click.echo(json.dumps(data, indent=1))
        sys.exit(0 if alive else NOT_RUNNING)
    if alive:
        uptime = human_secs(time.time() - run.started_at)
        click.echo(f"mailrs supervisor: {run.state}, pid {run.pid}, up {uptime}")
    elif run.state in ("stopped", "failed"):
        click.echo(f"mailrs supervisor: not running ({run.state})")
    else:
        click.echo(f"mailrs supervisor: not running (pid {run.pid} is gone without stopping)")
    rows = _service_rows(run, alive)
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        click.echo("  ".join([*cells, row[-1]]).rstrip())
    notes = [f"{svc.name}: {svc.note}" for svc in run.services if alive and svc.note]
    for note in notes:
        click.echo(note)
    sys.exit(0 if alive else NOT_RUNNING)
