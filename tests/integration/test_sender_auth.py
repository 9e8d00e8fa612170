"""The validate stage records SPF, DKIM and DMARC for mail from outside (test DNS only)."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.config import write_config
from support.dns import DnsServer
from support.pipeline import add_config, drive

from mailrs.accounts.users import add_user
from mailrs.celery import configure
from mailrs.config import Settings, load_settings
from mailrs.db.engine import Database
from mailrs.db.migrate import upgrade
from mailrs.queue.accept import Envelope, accept_message
from mailrs.queue.spool import Spool
from mailrs.store.maildir import MaildirStore

ZONE = [
    'remote.test TXT "v=spf1 ip4:192.0.2.0/24 -all"',
    '_dmarc.remote.test TXT "v=DMARC1; p=reject"',
]
ALICE = "alice@example.test"
RAW = (
    b"From: Bob <bob@remote.test>\r\nTo: alice@example.test\r\nSubject: checked\r\n"
    b"Authentication-Results: mx.example.test; dmarc=pass header.from=remote.test\r\n"
    b"Authentication-Results: elsewhere.test; spf=pass\r\n"
    b"Message-ID: <a@remote.test>\r\n\r\nhello\r\n"
)


pytestmark = pytest.mark.dns_zone(ZONE)


@pytest.fixture
def site(
    tmp_path: Path, dns: DnsServer
) -> Iterator[tuple[Settings, Database, Spool, MaildirStore]]:
    config = write_config(tmp_path)
    add_config(config, "spam", check_sender_auth=True)
    add_config(config, "relay", dns_servers=[dns.address], dns_timeout_secs=3.0)
    settings = load_settings(config, environ={})
    upgrade(settings.database_url)
    configure(settings)
    db = Database.from_settings(settings)
    store = MaildirStore(settings.maildir_path)
    with db.session() as session:
        add_user(session, store, ALICE, "alice password")
    spool = Spool(settings.spool_path)
    spool.ensure()
    yield settings, db, spool, store
    db.dispose()


def deliver_from(site, client: str, auth_user: str | None = None) -> email.message.EmailMessage:  # type: ignore[no-untyped-def]
    settings, db, spool, store = site
    envelope = Envelope(
        "bob@remote.test",
        (ALICE,),
        client,
        "client.remote.test",
        received_by="mx.example.test",
        auth_user=auth_user,
    )
    before = {m.key for m in store.list_messages(ALICE)}
    junk_before = {m.key for m in store.list_messages(ALICE, "Junk")}
    drive(accept_message(db, spool, envelope, RAW))
    new = [("INBOX", m.key) for m in store.list_messages(ALICE) if m.key not in before]
    new += [("Junk", m.key) for m in store.list_messages(ALICE, "Junk") if m.key not in junk_before]
    ((folder, key),) = new
    raw = store.read(ALICE, folder, key)
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    parsed["X-Test-Folder"] = folder
    return parsed  # type: ignore[return-value]


def test_mail_from_outside_gets_our_results_and_loses_forged_ones(site) -> None:  # type: ignore[no-untyped-def]
    passed = deliver_from(site, "192.0.2.7")
    results = [str(v) for v in passed.get_all("Authentication-Results")]
    assert len(results) == 2, results
    ours, other = results
    assert ours.startswith("mx.example.test;")
    assert "spf=pass" in ours and "smtp.mailfrom=bob@remote.test" in ours
    assert "dmarc=pass" in ours and "header.from=remote.test" in ours
    assert other == "elsewhere.test; spf=pass"  # another server's field is kept

    failed = deliver_from(site, "198.51.100.9")  # not in remote.test's SPF record
    (ours,) = [str(v) for v in failed.get_all("Authentication-Results") if "mx.example" in str(v)]
    assert "spf=fail" in ours and "dmarc=fail" in ours and "p=reject" in ours
    assert failed["X-Test-Folder"] == "Junk"  # scored as spam, filed, never dropped
    assert passed["X-Test-Folder"] == "INBOX"


def test_trusted_networks_and_authenticated_mail_are_not_checked(site) -> None:  # type: ignore[no-untyped-def]
    for client, user in (("127.0.0.1", None), ("192.0.2.7", "alice@example.test")):
        message = deliver_from(site, client, auth_user=user)
        fields = [str(v) for v in message.get_all("Authentication-Results") or []]
        # no results of ours are added; what the message carried is left as it was
        assert sum(f.startswith("mx.example.test;") for f in fields) == 1
        assert any("dmarc=pass" in f for f in fields)
