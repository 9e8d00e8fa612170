"""Prometheus metrics after real traffic: smtpd, a Celery worker, imapd and the web app
under gunicorn share one data directory; the web app's /metrics serves what all of them
counted, parsed with prometheus-client's own parser."""

from __future__ import annotations

import imaplib
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from support.gunicorn import gunicorn_web
from support.imap import ImapProcess
from support.processes import wait_until
from support.smtp import ALICE, CAROL, password_of, smtp_server

pytestmark = pytest.mark.slow

type Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(base: str) -> tuple[Samples, set[str]]:
    """Every sample of /metrics by (name, sorted labels), and the family names."""
    with urllib.request.urlopen(f"{base}/metrics", timeout=30) as response:
        assert response.headers["Content-Type"].startswith("text/plain")
        text = response.read().decode()
    samples: Samples = {}
    families = set()
    for family in text_string_to_metric_families(text):
        families.add(family.name)
        for sample in family.samples:
            key = (
                sample.name,
                tuple(sorted((k, v) for k, v in sample.labels.items() if k != "pid")),
            )
            samples[key] = samples.get(key, 0.0) + sample.value
    return samples, families


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sample with exactly these labels (0 when absent)."""
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_move_with_traffic(tmp_path: Path) -> None:
    with smtp_server(tmp_path, worker=True) as server:
        imapd = ImapProcess(server.config, tmp_path / "imapd.log").start()
        try:
            with gunicorn_web(server.config) as web:
                before, _ = scrape(web.base)
                with server.client() as smtp:
                    smtp.ehlo("client.example.org")
                    smtp.mail(CAROL)
                    assert smtp.rcpt("nobody@example.test")[0] == 550
                    assert smtp.rcpt(ALICE)[0] == 250
                    assert smtp.data(b"Subject: counted\r\n\r\nhello\r\n")[0] == 250
                assert server.wait_count(ALICE, 1)

                imap = imaplib.IMAP4(imapd.host, imapd.port, timeout=30)
                with pytest.raises(imaplib.IMAP4.error):
                    imap.login(ALICE, "wrong password")
                imap.login(ALICE, password_of(ALICE))
                imap.select("INBOX")
                imap.fetch("1", "(FLAGS)")
                imap.logout()

                refused = urllib.request.Request(
                    f"{web.base}/api/auth/token",
                    data=b'{"email": "alice@example.test", "password": "nope"}',
                    headers={"Content-Type": "application/json"},
                )
                with pytest.raises(urllib.error.HTTPError):
                    urllib.request.urlopen(refused, timeout=30)

                def delivered() -> bool:
                    return (
                        value(scrape(web.base)[0], "mailrs_deliveries_total", result="delivered")
                        >= 1
                    )

                assert wait_until(delivered, 30)
                after, families = scrape(web.base)
        finally:
            imapd.stop()

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("mailrs_smtpd_connections_total", listener="mx", result="accepted") >= 1
    assert moved("mailrs_smtpd_messages_total", result="accepted", reason="queued") == 1
    assert moved("mailrs_smtpd_recipients_refused_total", reason="no_such_user") == 1
    assert moved("mailrs_imapd_connections_total", listener="imap", result="accepted") == 1
    assert moved("mailrs_imapd_logins_total", result="ok") == 1
    assert moved("mailrs_imapd_logins_total", result="failed") == 1
    assert moved("mailrs_imapd_commands_total", command="SELECT", status="OK") == 1
    assert moved("mailrs_imapd_commands_total", command="LOGIN", status="NO") == 1
    assert moved("mailrs_imapd_command_duration_seconds_count", command="FETCH") == 1
    assert moved("mailrs_web_logins_total", via="api", result="failed") == 1
    assert moved("mailrs_web_requests_total", method="GET", status="200") >= 1
    assert moved("mailrs_pipeline_stage_duration_seconds_count", stage="deliver") >= 1
    assert moved("mailrs_pipeline_tasks_total", stage="validate", result="success") >= 1
    assert moved("mailrs_deliveries_total", result="delivered") == 1
    assert "mailrs_queue_messages" in families
