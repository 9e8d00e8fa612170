"""What ``mailrs up`` runs, worked out from the settings before the supervisor starts.

``mailrs up`` reads the config, writes this plan (JSON) and replaces itself with
``python -m mailrs.cli.supervise PLAN``: the process that then watches the services for
days never loaded click or the config code (``mailrs.cli.supervisor``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from mailrs.config import Settings, parse_hostport


def _service(
    name: str,
    label: str,
    argv: list[str],
    address: tuple[str, int] | None = None,
    also: tuple[str, ...] = (),
    url_prefix: str = "",
    ready_text: str | None = None,
    broker_wait: bool = False,
    entry: str | None = None,
    entry_argv: tuple[str, ...] = (),
    stage: int = 0,
) -> dict[str, Any]:
    """One service of the plan (the fields of ``mailrs.cli.supervisor.Service``).

    ``argv`` is the command that runs it in a fresh interpreter; ``entry`` the function
    the fork server (``mailrs.cli.zygote``) calls instead, with ``sys.argv = entry_argv``,
    forked once the preload's ``stage`` is loaded (1: Celery and kombu, for the services
    that publish or consume).
    """
    return {
        "name": name,
        "label": label,
        "argv": argv,
        "address": list(address) if address else None,
        "also": list(also),
        "url_prefix": url_prefix,
        "ready_text": ready_text,
        "broker_wait": broker_wait,
        "entry": entry,
        "entry_argv": list(entry_argv),
        "stage": stage,
    }


def write_plan(settings: Settings, config_path: Path) -> Path:
    """Write the plan of this machine's services under ``<data_dir>/run``; returns its path."""
    from mailrs.cli.runstate import state_file

    state_path = state_file(settings.data_dir)
    plan = {
        "config": str(config_path),
        "embedded_queue": str(settings.broker_dir / "queue") if settings.embedded_broker else None,
        "log_dir": str(settings.data_dir / "logs"),
        "state_path": str(state_path),
        "services": plan_services(settings, config_path),
        "banner": [
            f"Database: {settings.database_url}",
            f"Maildir: {settings.maildir_path}",
            f"Logs: {settings.data_dir / 'logs'}",
        ],
    }
    path = state_path.with_name("up-plan.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(plan, indent=1))
    return path


def plan_services(settings: Settings, config_path: Path) -> list[dict[str, Any]]:
    """The child processes of one machine's mailrs, as the plan's ``services`` list."""
    py = sys.executable
    cfg = str(config_path)
    smtp = parse_hostport(settings.smtp.listen_addr, "smtp.listen_addr")
    imap = parse_hostport(settings.imap.listen_addr, "imap.listen_addr")
    api = parse_hostport(settings.api.listen_addr, "api.listen_addr")
    broker = (
        f"embedded file broker in {settings.broker_dir}"
        if settings.embedded_broker
        else _redact(settings.celery.broker_url)
    )
    smtp_also = tuple(
        f"SMTP {label} listening on {addr}"
        for label, addr in (
            (
                "submission (STARTTLS)" if settings.smtp.enable_tls else "submission",
                settings.smtp.submission_addr,
            ),
            (
                "submissions (implicit TLS)",
                settings.smtp.submissions_addr if settings.smtp.enable_tls else "",
            ),
        )
        if addr
    )
    imap_also = (
        (f"IMAPS (implicit TLS) listening on {settings.imap.tls_listen_addr}",)
        if settings.imap.tls_listen_addr
        else ()
    )
    gunicorn = (
        "--config",
        "python:mailrs.cli.gunicorn_conf",  # the settings gunicorn.conf.py uses
        "--bind",
        settings.api.listen_addr,
        "--env",
        f"MAILRS_CONFIG={cfg}",
        "web:create_app()",
    )
    return [
        _service(
            "smtpd",
            "SMTP server",
            [py, "-m", "smtpd", "--config", cfg],
            smtp,
            smtp_also,
            entry="smtpd.server:main",
            entry_argv=("smtpd", "--config", cfg),
            stage=1,
        ),
        _service(
            "imapd",
            "IMAP server",
            [py, "-m", "imapd", "--config", cfg],
            imap,
            imap_also,
            entry="imapd.server:main",
            entry_argv=("imapd", "--config", cfg),
        ),
        _service(
            "web",
            "Web UI",
            [py, "-m", "mailrs.cli.gunicorn_single", *gunicorn],
            api,
            url_prefix="http://",
            entry="mailrs.cli.gunicorn_single:main",
            entry_argv=("gunicorn", *gunicorn),
        ),
        _service(
            "worker",
            f"Celery worker ({broker})",
            [py, "-m", "mailrs", "worker", "--config", cfg],
            ready_text="ready.",
            broker_wait=True,
            entry="mailrs.cli.main:main",
            entry_argv=("mailrs", "worker", "--config", cfg),
            stage=1,
        ),
    ]


def _redact(url: str) -> str:
    """A broker URL without its password."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}" if ":" in creds else url
    return url
