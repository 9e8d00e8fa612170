"""IMAP QUOTA (RFC 9208) with imaplib: GETQUOTAROOT in KiB, and NO [OVERQUOTA] for APPEND,
COPY and MOVE; mail delivered behind the server's back counts at once."""

from __future__ import annotations

import imaplib
from collections.abc import Iterator

import pytest
from support.imap import ALICE, ServerHarness, sample_message

from mailrs.accounts.quota import set_quota
from mailrs.db.engine import Database

PASSWORD = "alice password"


@pytest.fixture
def db(harness: ServerHarness) -> Iterator[Database]:
    """The server's database; alice's quota is removed after each test."""
    database = Database.from_settings(harness.settings)
    yield database
    with database.session() as session:
        set_quota(session, ALICE, None)
    database.dispose()


@pytest.fixture
def imap(harness: ServerHarness) -> Iterator[imaplib.IMAP4]:
    """imaplib logged in as alice."""
    client = imaplib.IMAP4(harness.server.host, harness.server.port, timeout=15)
    client.login(ALICE, PASSWORD)
    yield client
    client.logout()


def quota(db: Database, size: int | None) -> None:
    """Set alice's quota."""
    with db.session() as session:
        set_quota(session, ALICE, size)


def test_capability_and_getquotaroot_in_kib(
    harness: ServerHarness, db: Database, imap: imaplib.IMAP4
) -> None:
    assert "QUOTA" in imap.capabilities
    quota(db, 2 * 1024 * 1024)
    harness.store.deliver(ALICE, b"Subject: behind its back\r\n\r\n" + b"y" * 4096 + b"\r\n")
    status, data = imap.getquotaroot("INBOX")
    assert status == "OK", data
    roots, quotas = data
    assert roots == [b'INBOX ""']
    used, limit = quotas[0].decode().rsplit("(STORAGE ", 1)[1].rstrip(")").split()
    assert int(limit) == 2048 and int(used) >= 4  # the delivered message counts
    status, data = imap.getquota('""')
    assert status == "OK" and data == quotas


def test_append_copy_move_over_quota(db: Database, imap: imaplib.IMAP4) -> None:
    message = sample_message("fits", body="z" * 5000)
    assert imap.append("INBOX", None, None, message)[0] == "OK"
    imap.create("Archive")
    imap.select("INBOX")
    quota(db, 100 * 1024 * 1024)
    used = int(imap.getquota('""')[1][0].decode().rsplit("(STORAGE ", 1)[1].split()[0]) * 1024
    quota(db, used + 4096)  # room for 3-4 KiB more: no copy of a 5000-byte message
    status, data = imap.append("INBOX", None, None, sample_message("big", body="w" * 9000))
    assert status == "NO" and b"[OVERQUOTA]" in data[0]
    status, data = imap.copy("1:*", "Archive")
    assert status == "NO" and b"[OVERQUOTA]" in data[0]
    status, data = imap._simple_command("MOVE", "1", "Archive")
    assert status == "OK"  # a move adds nothing
    quota(db, 10)  # lowered below the usage: even a move is refused
    imap.select("Archive")
    status, data = imap._simple_command("MOVE", "1", "INBOX")
    assert status == "NO" and b"[OVERQUOTA]" in data[0]
