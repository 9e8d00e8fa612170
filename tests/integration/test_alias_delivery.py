"""Aliases, catch-all and plus-addressing end to end: smtplib → smtpd → pipeline → Maildir."""

from __future__ import annotations

import smtplib
import subprocess
from pathlib import Path

import pytest
from support.config import write_config
from support.processes import flask_mail_user, mailrs_argv, mailrs_up, service_env, wait_until

from mailrs.config import load_settings, parse_hostport
from mailrs.store.maildir import MaildirStore

pytestmark = pytest.mark.slow  # starts several real processes

USERS = ("alice@example.test", "bob@example.test", "carol@example.test")


def _mailrs(env: dict[str, str], *args: str) -> None:
    done = subprocess.run(mailrs_argv(*args), env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_aliases_catch_all_and_plus_tags_reach_the_right_maildirs(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    settings = load_settings(config, environ={})
    env = service_env(config)
    for user in USERS:
        flask_mail_user(env, "add", user, f"{user} password")
    _mailrs(env, "alias", "add", "team@example.test", "alice@example.test", "bob@example.test")
    _mailrs(env, "alias", "add", "@example.test", "carol@example.test")
    store = MaildirStore(settings.maildir_path)
    host, port = parse_hostport(settings.smtp.listen_addr)

    with mailrs_up(config, env) as up, smtplib.SMTP(host, port, timeout=30) as client:
        for rcpt, subject in (
            ("Team@example.test", "to the team"),
            ("alice+news@EXAMPLE.test", "plus tag"),
            ("whoever@example.test", "catch-all"),
        ):
            message = f"From: x@remote.test\r\nTo: {rcpt}\r\nSubject: {subject}\r\n\r\nhi\r\n"
            assert client.sendmail("x@remote.test", [rcpt], message) == {}
        # Relay is still refused for an unauthenticated client, alias or not.
        code, reply = client.docmd("MAIL FROM:<x@remote.test>")
        assert code == 250
        code, reply = client.docmd("RCPT TO:<someone@remote.test>")
        assert code == 550 and reply.startswith(b"5.7.1"), reply

        def counts() -> tuple[int, ...]:
            return tuple(len(store.list_messages(user)) for user in USERS)

        assert wait_until(lambda: counts() == (2, 1, 1), timeout=60), (counts(), up.output)

    def subjects(user: str) -> set[str]:
        found = set()
        for message in store.list_messages(user):
            raw = store.read(user, "INBOX", message.key)
            found.add(raw.split(b"Subject: ", 1)[1].split(b"\r\n", 1)[0].decode())
        return found

    assert subjects("alice@example.test") == {"to the team", "plus tag"}
    assert subjects("bob@example.test") == {"to the team"}
    assert subjects("carol@example.test") == {"catch-all"}
