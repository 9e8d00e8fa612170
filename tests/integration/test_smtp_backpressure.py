"""Backpressure over a real socket: a full pipeline answers 451 4.3.2, a drained one accepts."""

from __future__ import annotations

import smtplib
from pathlib import Path

import pytest
from support.brokers import BROKERS, broker_url_for
from support.config import provision
from support.processes import mailrs_argv, python_m, running, service_env, wait_until
from support.smtp import reply_of

from mailrs.config import load_settings, parse_hostport
from mailrs.store.maildir import MaildirStore
from smtpd import replies

pytestmark = pytest.mark.slow  # starts several real processes

ALICE = "alice@example.test"
MESSAGE = b"From: bob@remote.test\r\nTo: alice@example.test\r\nSubject: wait\r\n\r\nhello\r\n"


def _try_send(host: str, port: int) -> tuple[int, bytes]:
    """One transaction; the reply to MAIL when refused, else the reply after DATA."""
    with smtplib.SMTP(host, port, timeout=30) as client:
        client.ehlo("client.remote.test")
        code, reply = client.mail("bob@remote.test")
        if code != 250:
            return code, reply
        assert client.rcpt(ALICE)[0] == 250
        return client.data(MESSAGE)


@pytest.mark.parametrize("broker", BROKERS)
def test_full_pipeline_refuses_mail_until_workers_drain_it(tmp_path: Path, broker: str) -> None:
    config = provision(tmp_path, broker_url_for(broker), users=(ALICE,))
    settings = load_settings(config, environ={})
    store = MaildirStore(settings.maildir_path)
    host, port = parse_hostport(settings.smtp.listen_addr)
    env = service_env(config, MAILRS_SMTP_MAX_PIPELINE_BACKLOG="2")

    with running(python_m("smtpd", "--config", str(config)), "SMTP server listening", env=env):
        # No worker runs: two messages fill the backlog of 2.
        assert _try_send(host, port)[0] == 250
        assert _try_send(host, port)[0] == 250
        code, reply = _try_send(host, port)
        assert (code, reply) == reply_of(replies.PIPELINE_BUSY), reply
        # The refusal is per transaction: the session goes on, and RSET/NOOP still work.
        with smtplib.SMTP(host, port, timeout=30) as client:
            client.ehlo("client.remote.test")
            assert client.mail("bob@remote.test")[0] == 451
            assert client.noop()[0] == 250
        assert store.list_messages(ALICE) == []

        with running(mailrs_argv("worker", "--config", str(config)), "ready.", env=env):
            assert wait_until(lambda: len(store.list_messages(ALICE)) == 2, timeout=60)
            assert wait_until(lambda: _try_send(host, port)[0] == 250, timeout=30)
            assert wait_until(lambda: len(store.list_messages(ALICE)) == 3, timeout=60)
