"""A worker SIGKILLed in the middle of delivery: after a restart the message arrives once."""

from __future__ import annotations

import smtplib
import time
from pathlib import Path

import pytest
from sqlalchemy import select
from support.brokers import BROKERS, broker_url_for
from support.config import provision
from support.processes import Proc, mailrs_argv, python_m, running, service_env, wait_until

from mailrs.config import load_settings, parse_hostport
from mailrs.db.engine import Database
from mailrs.db.models import Message
from mailrs.store.maildir import MaildirStore

pytestmark = pytest.mark.slow  # starts several real processes

MESSAGE = b"From: bob@remote.test\r\nTo: alice@example.test\r\nSubject: crash\r\n\r\nsurvive\r\n"


@pytest.mark.parametrize("broker", BROKERS)
def test_killed_worker_delivers_exactly_once_after_restart(tmp_path: Path, broker: str) -> None:
    config = provision(tmp_path, broker_url_for(broker), users=("alice@example.test",))
    settings = load_settings(config, environ={})
    db = Database.from_settings(settings)
    store = MaildirStore(settings.maildir_path)
    env = service_env(config)
    faults = tmp_path / "faults"
    faults.mkdir()
    crash_env = service_env(
        config, MAILRS_FAULT_PAUSE_STAGE="deliver", MAILRS_FAULT_DIR=str(faults)
    )

    with running(python_m("smtpd", "--config", str(config)), "SMTP server listening", env=env):
        doomed = Proc(mailrs_argv("worker", "--config", str(config)), env=crash_env)
        try:
            doomed.wait_for("ready.")
            host, port = parse_hostport(settings.smtp.listen_addr)
            with smtplib.SMTP(host, port, timeout=30) as client:
                client.sendmail("bob@remote.test", ["alice@example.test"], MESSAGE)
            assert wait_until(lambda: any(faults.iterdir()), timeout=30), doomed.output
            doomed.kill()  # SIGKILL while the deliver task is running
        finally:
            doomed.stop()
        assert store.list_messages("alice@example.test") == []

        with running(mailrs_argv("worker", "--config", str(config)), "ready.", env=env):
            assert wait_until(lambda: len(store.list_messages("alice@example.test")) >= 1)
            time.sleep(2)  # give a duplicate every chance to appear
            (copy,) = store.list_messages("alice@example.test")
            assert store.read("alice@example.test", "INBOX", copy.key).endswith(MESSAGE)

    with db.session() as session:
        message = session.scalar(select(Message))
        assert message is not None and message.state == "delivered"
        # the killed attempt and at least one more; with a pool of several processes the
        # broker's redelivery and the sweeper's re-publication may both run (the copy above
        # shows that delivery stayed exactly once)
        assert message.recipients[0].attempts >= 2
    db.dispose()
