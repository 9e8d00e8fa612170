"""The periodic sweep: a message whose pipeline was never published is delivered anyway."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from support.config import provision
from support.processes import mailrs_argv, running, service_env, wait_until

from mailrs.config import load_settings
from mailrs.db.engine import Database
from mailrs.db.models import Message
from mailrs.queue.accept import Envelope, accept_message
from mailrs.queue.spool import Spool
from mailrs.store.maildir import MaildirStore

pytestmark = pytest.mark.slow  # starts several real processes


def test_running_worker_sweeps_up_an_unpublished_message(tmp_path: Path) -> None:
    config = provision(tmp_path, users=("alice@example.test",))
    settings = load_settings(config, environ={})
    db = Database.from_settings(settings)
    store = MaildirStore(settings.maildir_path)
    spool = Spool(settings.spool_path)
    spool.ensure()
    env = service_env(
        config, MAILRS_CELERY_SWEEP_INTERVAL_SECS="1", MAILRS_CELERY_SWEEP_GRACE_SECS="1"
    )
    with running(mailrs_argv("worker", "--config", str(config)), "ready.", env=env) as worker:
        # Accepted as smtpd would, but the broker never heard of it (it was down).
        envelope = Envelope("bob@remote.test", ("alice@example.test",), "192.0.2.1", "c")
        queue_id = accept_message(db, spool, envelope, b"Subject: swept\r\n\r\nhello\r\n")
        assert wait_until(lambda: len(store.list_messages("alice@example.test")) == 1, 30), (
            worker.output
        )
        assert "re-published 1 message" in worker.output
    with db.session() as session:
        message = session.scalar(select(Message).where(Message.queue_id == queue_id))
        assert message is not None and message.state == "delivered"
    db.dispose()
