"""The whole platform: `mailrs up`, a user from `flask mail-user`, mail in by SMTP, out by IMAP.

Runs on the embedded broker and on Redis.
"""

from __future__ import annotations

import http.cookiejar
import imaplib
import json
import re
import smtplib
import subprocess
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from support.brokers import BROKERS, broker_url_for
from support.config import write_config
from support.processes import (
    flask_mail_user,
    mailrs_up,
    service_env,
    wait_until,
)
from support.services import require_tool

from mailrs.cli.supervisor import accepts_connections
from mailrs.config import load_settings, parse_hostport
from mailrs.store.maildir import MaildirStore

USER = "alice@example.test"
PASSWORD = "alice password"
BY_SMTPLIB = (
    b"From: Bob <bob@remote.test>\r\nTo: alice@example.test\r\n"
    b"Subject: sent with smtplib\r\nMessage-ID: <e2e-1@remote.test>\r\n\r\n"
    b"First line.\r\n.leading dot survives\r\n"
)

pytestmark = pytest.mark.slow  # starts several real processes


def fetch_all(host: str, port: int) -> dict[int, bytes]:
    """UID -> BODY[] of every INBOX message, through imaplib."""
    imap = imaplib.IMAP4(host, port, timeout=30)
    try:
        imap.login(USER, PASSWORD)
        typ, data = imap.select("INBOX")
        assert typ == "OK"
        typ, data = imap.uid("FETCH", "1:*", "(UID BODY[])")
        assert typ == "OK"
        found = {}
        for item in data:
            if isinstance(item, tuple):
                uid = int(re.search(rb"UID (\d+)", item[0]).group(1))  # type: ignore[union-attr]
                found[uid] = item[1]
        imap.logout()
        return found
    except imaplib.IMAP4.error:
        return {}


def web_login_and_read_inbox(base: str) -> str:
    """Log in through the real login form (CSRF token included) and return the inbox page."""
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    with opener.open(f"{base}/login", timeout=10) as response:
        form = response.read().decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form)
    assert token, form
    body = urllib.parse.urlencode(
        {"csrf_token": token.group(1), "email": USER, "password": PASSWORD}
    ).encode()
    with opener.open(
        urllib.request.Request(f"{base}/login", data=body, headers={"Referer": f"{base}/login"}),
        timeout=10,
    ) as response:
        assert response.url.rstrip("/") == base, response.url
        return response.read().decode()


@pytest.mark.parametrize("broker", BROKERS)
def test_message_travels_smtp_pipeline_maildir_imap(tmp_path: Path, broker: str) -> None:
    swaks = require_tool("swaks")
    config = write_config(tmp_path, broker_url=broker_url_for(broker))
    settings = load_settings(config, environ={})
    env = service_env(config)
    flask_mail_user(env, "add", USER, "--password-stdin", stdin=PASSWORD + "\n")
    flask_mail_user(env, "add", "dave@example.test", "dave password")
    store = MaildirStore(settings.maildir_path)
    smtp_host, smtp_port = parse_hostport(settings.smtp.listen_addr)
    imap_host, imap_port = parse_hostport(settings.imap.listen_addr)

    with mailrs_up(config, env) as up:
        out = up.output
        assert f"SMTP server listening on {settings.smtp.listen_addr}" in out
        assert f"IMAP server listening on {settings.imap.listen_addr}" in out
        assert f"Web UI listening on http://{settings.api.listen_addr}" in out
        assert "Celery worker" in out and "ready" in out
        assert f"Database: {settings.database_url}" in out
        assert f"Maildir: {settings.maildir_path}" in out

        with smtplib.SMTP(smtp_host, smtp_port, timeout=30) as client:
            refused = client.sendmail(
                "bob@remote.test", [USER, "ghost@example.test", "Dave@Example.Test"], BY_SMTPLIB
            )
        assert refused == {"ghost@example.test": (550, b"5.1.1 Mailbox does not exist")}
        result = subprocess.run(
            [
                swaks,
                "--server",
                f"{smtp_host}:{smtp_port}",
                "--to",
                USER,
                "--from",
                "carol@remote.test",
                "--header",
                "Subject: sent with swaks",
                "--body",
                "Hello from swaks.",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert re.search(r"250 2\.0\.0 Ok: queued as [0-9A-Z]{18}", result.stdout)

        assert wait_until(lambda: len(store.list_messages(USER)) == 2, timeout=60), up.output
        assert wait_until(lambda: len(store.list_messages("dave@example.test")) == 1)
        (dave_copy,) = store.list_messages("dave@example.test")
        assert store.read("dave@example.test", "INBOX", dave_copy.key).endswith(BY_SMTPLIB)
        fetched: dict[int, bytes] = {}
        assert wait_until(
            lambda: len(fetched.update(fetch_all(imap_host, imap_port)) or fetched) == 2
        )
        on_disk = {store.read(USER, "INBOX", m.key) for m in store.list_messages(USER)}
        assert set(fetched.values()) == on_disk  # IMAP serves the stored bytes exactly
        by_smtplib = [body for body in fetched.values() if body.endswith(BY_SMTPLIB)]
        assert len(by_smtplib) == 1
        assert by_smtplib[0].startswith(b"Return-Path: <bob@remote.test>\r\nReceived: from ")
        by_swaks = [body for body in fetched.values() if b"Subject: sent with swaks" in body]
        assert len(by_swaks) == 1 and b"Hello from swaks." in by_swaks[0]

        with urllib.request.urlopen(f"http://{settings.api.listen_addr}/health", timeout=10) as r:
            health = json.load(r)
        assert health["database"] == "ok" and health["broker"] == "ok"
        inbox = web_login_and_read_inbox(f"http://{settings.api.listen_addr}")
        assert "sent with smtplib" in inbox and "sent with swaks" in inbox

    assert up.popen.returncode == 0, up.output
    for address in (settings.smtp.listen_addr, settings.imap.listen_addr, settings.api.listen_addr):
        assert not accepts_connections(*parse_hostport(address)), address
