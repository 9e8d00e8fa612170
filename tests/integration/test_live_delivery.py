"""A message delivered by the pipeline wakes an IMAP client that is waiting in IDLE."""

from __future__ import annotations

import smtplib
import time
from pathlib import Path

import pytest
from imapclient import IMAPClient
from support.brokers import BROKERS, broker_url_for
from support.config import write_config
from support.processes import flask_mail_user, mailrs_up, service_env

from mailrs.config import load_settings, parse_hostport

pytestmark = pytest.mark.slow  # starts several real processes

USER = "alice@example.test"
PASSWORD = "alice password"


@pytest.mark.parametrize("broker", BROKERS)
def test_idle_announces_a_message_delivered_over_smtp(tmp_path: Path, broker: str) -> None:
    config = write_config(tmp_path, broker_url=broker_url_for(broker))
    settings = load_settings(config, environ={})
    env = service_env(config)
    flask_mail_user(env, "add", USER, PASSWORD)
    smtp_host, smtp_port = parse_hostport(settings.smtp.listen_addr)
    imap_host, imap_port = parse_hostport(settings.imap.listen_addr)

    with (
        mailrs_up(config, env) as up,
        IMAPClient(imap_host, port=imap_port, ssl=False, timeout=30) as client,
    ):
        client.login(USER, PASSWORD)
        assert client.select_folder("INBOX")[b"EXISTS"] == 0
        client.idle()
        with smtplib.SMTP(smtp_host, smtp_port, timeout=30) as smtp:
            smtp.sendmail("bob@remote.test", [USER], b"Subject: live\r\n\r\nwake up\r\n")
        responses: list[tuple[object, ...]] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (1, b"EXISTS") not in responses:
            responses += client.idle_check(timeout=1)
        client.idle_done()
        assert (1, b"EXISTS") in responses, (responses, up.output)
        fetched = client.fetch([1], ["BODY.PEEK[HEADER.FIELDS (SUBJECT)]"])
        assert b"Subject: live" in fetched[1][b"BODY[HEADER.FIELDS (SUBJECT)]"]
