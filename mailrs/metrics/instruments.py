"""Every metric mailrs exports, named the Prometheus way (``mailrs_<service>_..._total``,
``_seconds`` histograms), made on first use so that ``process.setup`` comes first."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from prometheus_client import Counter, Histogram

LATENCY_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


@dataclass(frozen=True)
class Instruments:
    """The metric objects; label values are set where they are counted."""

    smtpd_connections: Counter
    smtpd_messages: Counter
    smtpd_recipients_refused: Counter
    imapd_connections: Counter
    imapd_commands: Counter
    imapd_command_seconds: Histogram
    imapd_logins: Counter
    web_requests: Counter
    web_logins: Counter
    pipeline_stage_seconds: Histogram
    pipeline_tasks: Counter
    deliveries: Counter
    bounces: Counter


@cache
def instruments() -> Instruments:
    """The process's metric objects (made once, after ``mailrs.metrics.process.setup``)."""
    return Instruments(
        smtpd_connections=Counter(
            "mailrs_smtpd_connections",
            "SMTP connections by listener and whether they were accepted or refused.",
            ["listener", "result"],
        ),
        smtpd_messages=Counter(
            "mailrs_smtpd_messages",
            "Messages after DATA: accepted (queued) or refused, by reason.",
            ["result", "reason"],
        ),
        smtpd_recipients_refused=Counter(
            "mailrs_smtpd_recipients_refused",
            "RCPT TO commands refused, by reason.",
            ["reason"],
        ),
        imapd_connections=Counter(
            "mailrs_imapd_connections",
            "IMAP connections by listener (imap, imaps) and whether they were accepted or refused.",
            ["listener", "result"],
        ),
        imapd_commands=Counter(
            "mailrs_imapd_commands",
            "IMAP commands by name and completion status (OK, NO, BAD).",
            ["command", "status"],
        ),
        imapd_command_seconds=Histogram(
            "mailrs_imapd_command_duration_seconds",
            "Time to run an IMAP command, by name.",
            ["command"],
            buckets=LATENCY_BUCKETS,
        ),
        imapd_logins=Counter(
            "mailrs_imapd_logins", "IMAP logins by result (ok, failed).", ["result"]
        ),
        web_requests=Counter(
            "mailrs_web_requests",
            "HTTP requests of the web app by method and status code.",
            ["method", "status"],
        ),
        web_logins=Counter(
            "mailrs_web_logins",
            "Web and API logins by way in and result (ok, failed, throttled).",
            ["via", "result"],
        ),
        pipeline_stage_seconds=Histogram(
            "mailrs_pipeline_stage_duration_seconds",
            "Time a pipeline task (validate, spam, route, deliver, relay, bounce) ran.",
            ["stage"],
            buckets=LATENCY_BUCKETS,
        ),
        pipeline_tasks=Counter(
            "mailrs_pipeline_tasks",
            "Pipeline tasks run, by stage and result (success, failure).",
            ["stage", "result"],
        ),
        deliveries=Counter(
            "mailrs_deliveries",
            "Delivery outcomes (local and remote): delivered, deferred, failed, expired.",
            ["result"],
        ),
        bounces=Counter(
            "mailrs_bounces",
            "Bounces (DSNs): sent, or suppressed for the null sender.",
            ["result"],
        ),
    )


EXPORTED = (
    "mailrs_smtpd_connections_total",
    "mailrs_smtpd_messages_total",
    "mailrs_smtpd_recipients_refused_total",
    "mailrs_imapd_connections_total",
    "mailrs_imapd_commands_total",
    "mailrs_imapd_command_duration_seconds",
    "mailrs_imapd_logins_total",
    "mailrs_web_requests_total",
    "mailrs_web_logins_total",
    "mailrs_pipeline_stage_duration_seconds",
    "mailrs_pipeline_tasks_total",
    "mailrs_deliveries_total",
    "mailrs_bounces_total",
    "mailrs_queue_messages",
)
"""The names a scrape shows (histograms add _bucket, _sum and _count)."""
