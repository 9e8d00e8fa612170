"""An outbound test set-up: settings pointed at the test DNS server and SMTP port, a
database with alice@example.test, a spool, and the Celery app configured for them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from mailrs.accounts.users import add_user
from mailrs.celery import configure
from mailrs.config import Settings, load_settings
from mailrs.db.engine import Database
from mailrs.db.migrate import upgrade
from mailrs.db.models import Message
from mailrs.queue.accept import Envelope, accept_message
from mailrs.queue.spool import Spool
from mailrs.store.maildir import MaildirStore
from support.config import free_port, write_config
from support.dns import DnsServer
from support.pipeline import add_config

BODY = (
    b"From: Alice <alice@example.test>\r\nTo: x@remote.test\r\nSubject: out\r\n"
    b"Date: Tue, 24 Nov 2026 10:00:00 +0000\r\nMessage-ID: <out@example.test>\r\n\r\nbye\r\n"
)


@dataclass
class Relay:
    settings: Settings
    db: Database
    store: MaildirStore
    spool: Spool
    dns: DnsServer
    port: int
    config: Path

    def send(
        self,
        *rcpts: str,
        sender: str = "alice@example.test",
        data: bytes = BODY,
        **params: object,
    ) -> str:
        """Accept a message as smtpd would; ``params``: DSN/REQUIRETLS fields of Envelope."""
        envelope = Envelope(
            sender,
            rcpts,
            "127.0.0.1",
            "me",
            auth_user=sender or None,
            **params,  # type: ignore[arg-type]
        )
        return accept_message(self.db, self.spool, envelope, data)

    def message(self, queue_id: str) -> Message:
        with self.db.session() as session:
            message = session.scalar(select(Message).where(Message.queue_id == queue_id))
            assert message is not None
            assert message.deliveries is not None and message.attempt_log is not None
            assert message.events
            return message

    def inbox(self, user: str = "alice@example.test") -> list[bytes]:
        return [self.store.read(user, "INBOX", m.key) for m in self.store.list_messages(user)]

    def age(self, queue_id: str, hours: float) -> None:
        """Pretend the message arrived ``hours`` ago and its retry is due."""
        with self.db.session() as session:
            message = session.scalar(select(Message).where(Message.queue_id == queue_id))
            assert message is not None
            message.received_at = message.received_at - dt.timedelta(hours=hours)
            message.next_attempt_at = None
            session.commit()


def make_relay(tmp_path: Path, dns: DnsServer, **relay_keys: object) -> Relay:
    config = write_config(tmp_path)
    port = free_port()
    keys = {
        "dns_servers": [dns.address],
        "smtp_port": port,
        "dns_timeout_secs": 3.0,
        "connect_timeout_secs": 5.0,
        "command_timeout_secs": 10.0,
    }
    keys.update(relay_keys)
    add_config(config, "relay", **keys)
    settings = load_settings(config, environ={})
    upgrade(settings.database_url)
    db = Database.from_settings(settings)
    store = MaildirStore(settings.maildir_path)
    with db.session() as session:
        add_user(session, store, "alice@example.test", "alice password")
    spool = Spool(settings.spool_path)
    spool.ensure()
    configure(settings)
    return Relay(settings, db, store, spool, dns, port, config)
