"""Sieve at delivery end to end: smtplib → smtpd → pipeline → the user's script → Maildir,
with the vacation reply relayed to a real SMTP sink found through a loopback DNS server."""

from __future__ import annotations

import imaplib
import smtplib
from pathlib import Path

import pytest
from sqlalchemy import func, select
from support.config import free_port, write_config
from support.dns import DnsServer
from support.pipeline import add_config
from support.processes import flask_mail_user, mailrs_up, service_env, wait_until
from support.smtp_sink import SmtpSink

from mailrs.config import load_settings, parse_hostport
from mailrs.db.engine import Database
from mailrs.db.models import Message
from mailrs.sieve import storage
from mailrs.store.maildir import MaildirStore

pytestmark = [
    pytest.mark.slow,  # starts mailrs up
    pytest.mark.dns_zone(["remote.test MX 10 mx.remote.test.", "mx.remote.test A 127.0.0.1"]),
]

BOB = "bob@example.test"
SCRIPT = """require ["fileinto", "imap4flags", "vacation", "mailbox"];
if header :contains "subject" "report" {
    fileinto :create :flags ["\\\\Seen", "\\\\Flagged", "$Report"] "Reports";
}
vacation :days 1 :subject "Out of office" "I am away until Monday.";
"""


def _mail(subject: str, extra: str = "") -> str:
    return (
        f"From: Alice <alice@remote.test>\r\nTo: {BOB}\r\nSubject: {subject}\r\n"
        f"Message-ID: <{subject.replace(' ', '.')}@remote.test>\r\n{extra}\r\nhello\r\n"
    )


def test_script_files_flags_and_answers_once(tmp_path: Path, dns: DnsServer) -> None:
    """fileinto :create with flags, keep, one vacation reply per sender, none to a list."""
    config = write_config(tmp_path)
    sink_port = free_port()
    add_config(config, "relay", dns_servers=[dns.address], smtp_port=sink_port)
    settings = load_settings(config, environ={})
    env = service_env(config)
    flask_mail_user(env, "add", BOB, "bob password")
    db = Database.from_settings(settings)
    with db.session() as session:
        storage.put_script(session, BOB, "main", SCRIPT)
        storage.set_active(session, BOB, "main")
        session.commit()
    store = MaildirStore(settings.maildir_path)
    host, port = parse_hostport(settings.smtp.listen_addr)

    def counts() -> tuple[int, int]:
        reports = store.list_messages(BOB, "Reports") if _has(store, "Reports") else []
        return len(store.list_messages(BOB)), len(reports)

    with SmtpSink(sink_port) as sink, mailrs_up(config, env) as up:
        with smtplib.SMTP(host, port, timeout=30) as client:
            client.sendmail("alice@remote.test", [BOB], _mail("weekly report"))
            client.sendmail("alice@remote.test", [BOB], _mail("lunch"))
            client.sendmail("news@remote.test", [BOB], _mail("digest", "List-Id: <n.remote>\r\n"))
        assert wait_until(lambda: counts() == (2, 1), timeout=60), (counts(), up.output)
        assert wait_until(lambda: len(sink.messages) >= 1, timeout=60), up.output
        imap_host, imap_port = parse_hostport(settings.imap.listen_addr)
        with imaplib.IMAP4(imap_host, imap_port, timeout=30) as imap:  # keywords over IMAP
            imap.login(BOB, "bob password")
            imap.select("Reports")
            status, data = imap.fetch("1", "(FLAGS)")
            assert status == "OK" and b"$Report" in data[0], data
            assert b"\\Seen" in data[0] and b"\\Flagged" in data[0], data
    (reply,) = sink.messages
    assert reply.mail_from in ("", "<>") and reply.rcpt_tos == ["alice@remote.test"]
    assert b"Auto-Submitted: auto-replied (vacation)" in reply.data
    assert b"Subject: Out of office" in reply.data
    assert b"In-Reply-To: <weekly.report@remote.test>" in reply.data
    (filed,) = store.list_messages(BOB, "Reports")
    assert filed.filename.endswith(":2,FS")
    assert all(":2," not in m.filename for m in store.list_messages(BOB))  # kept, unflagged
    with db.session() as session:  # one reply in all: the second mail and the list are not
        replies = session.scalar(select(func.count()).where(Message.mail_from == ""))
        assert replies == 1
    db.dispose()


def _has(store: MaildirStore, folder: str) -> bool:
    return folder in store.list_folders(BOB)
