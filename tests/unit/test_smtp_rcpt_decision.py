"""RCPT policy without a network: a typed decision, answered with one named reply each."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from aiosmtpd.smtp import Envelope, Session

from mailrs.accounts.users import add_user
from mailrs.celery import configure
from mailrs.config import Settings
from mailrs.db.engine import Database
from mailrs.queue.spool import Spool
from mailrs.store.maildir import MaildirStore
from smtpd import replies
from smtpd.handler import RECIPIENT_REPLIES, MailHandler
from smtpd.recipients import RecipientStatus


def test_every_decision_has_a_named_reply() -> None:
    assert set(RECIPIENT_REPLIES) == set(RecipientStatus)
    named = {v for name, v in vars(replies).items() if name.isupper() and isinstance(v, str)}
    assert set(RECIPIENT_REPLIES.values()) <= named
    assert RECIPIENT_REPLIES[RecipientStatus.ACCEPTED] == replies.OK_RCPT
    temporary = {RecipientStatus.MAILBOX_FULL}  # 452 4.2.2: the sender retries later
    rejections = [
        RECIPIENT_REPLIES[s]
        for s in RecipientStatus
        if s is not RecipientStatus.ACCEPTED and s not in temporary
    ]
    assert all(reply[0] == "5" for reply in rejections)
    assert RECIPIENT_REPLIES[RecipientStatus.MAILBOX_FULL].startswith("452 4.2.2")


@pytest.fixture
def handler(settings: Settings, database: Database, store: MaildirStore) -> Iterator[MailHandler]:
    with database.session() as session:
        add_user(session, store, "alice@example.test", "alice password")
    mail = MailHandler(settings, database, Spool(settings.spool_path), configure(settings))
    yield mail
    asyncio.run(mail.drain(1))


def rcpt(handler: MailHandler, envelope: Envelope, address: str, user: str | None = None) -> str:
    """One RCPT TO through the handler's hook, in a session that is (or not) authenticated."""

    async def call() -> str:
        session = Session(asyncio.get_running_loop())
        session.authenticated = user is not None
        session.auth_data = user
        return await handler.handle_RCPT(None, session, envelope, address, [])  # type: ignore[arg-type]

    return asyncio.run(call())


@pytest.mark.parametrize(
    ("address", "user", "reply"),
    [
        ("alice@example.test", None, replies.OK_RCPT),
        ("ALICE@Example.TEST", None, replies.OK_RCPT),
        ("ghost@example.test", None, replies.NO_SUCH_USER),
        ("ghost@example.test", "alice@example.test", replies.NO_SUCH_USER),
        ("bob@remote.test", None, replies.RELAY_DENIED),
        ("bob@remote.test", "alice@example.test", replies.OK_RCPT),
        ("not an address", None, replies.BAD_ADDRESS_SYNTAX),
        ("a@@example.test", None, replies.BAD_ADDRESS_SYNTAX),
    ],
)
def test_rcpt_replies(handler: MailHandler, address: str, user: str | None, reply: str) -> None:
    envelope = Envelope()
    assert rcpt(handler, envelope, address, user) == reply
    assert envelope.rcpt_tos == ([address] if reply == replies.OK_RCPT else [])


def test_the_same_mailbox_twice_is_kept_once(handler: MailHandler) -> None:
    envelope = Envelope()
    for address in ("alice@example.test", "Alice@example.test", "alice@example.test"):
        assert rcpt(handler, envelope, address) == replies.OK_RCPT
    assert envelope.rcpt_tos == ["alice@example.test"]
