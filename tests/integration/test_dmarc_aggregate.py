"""DMARC at delivery and the aggregate reports we send (RFC 7489), end to end.

A real DNS server on loopback publishes the senders' policies; messages from outside run
through the pipeline (quarantine failures land in Junk); then the day's reports are
queued, relayed to a real SMTP sink, unpacked from the gzip attachment, validated
against the RFC 7489 appendix C schema with ``xmlschema`` and read back by our own
report parser. The RFC's schema names its types without the target namespace (an
erratum: no validator loads it as printed); it is loaded with that one attribute
removed, which also matches the reports receivers really send (``<feedback>`` in no
namespace).
"""

from __future__ import annotations

import datetime as dt
import gzip
from collections.abc import Iterator
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path
from xml.etree import ElementTree

import pytest
import xmlschema
from sqlalchemy import select
from support.dns import DnsServer
from support.pipeline import add_config, drive
from support.smtp_sink import SmtpSink
from test_relay import Relay, make_relay

from mailrs.celery import configure
from mailrs.config import load_settings
from mailrs.db.models import DmarcResult, Message
from mailrs.inbound.dmarc_reports import parse_report
from mailrs.outbound.dmarc_send import queue_due_reports
from mailrs.queue.accept import Envelope, accept_message

SCHEMA = Path(__file__).resolve().parents[1] / "data" / "dmarc-rua-rfc7489.xsd"
ZONE = [
    'quar.test TXT "v=spf1 ip4:192.0.2.0/24 -all"',
    '_dmarc.quar.test TXT "v=DMARC1; p=quarantine; rua=mailto:dmarc@quar.test"',
    "quar.test MX 10 mx.quar.test.",
    "mx.quar.test A 127.0.0.1",
    'far.test TXT "v=spf1 ip4:192.0.2.0/24 -all"',
    '_dmarc.far.test TXT "v=DMARC1; p=reject; rua=mailto:agg@reports.test!10m"',
    'far.test._report._dmarc.reports.test TXT "v=DMARC1"',
    "reports.test MX 10 mx.quar.test.",
    'rude.test TXT "v=spf1 ip4:192.0.2.0/24 -all"',
    '_dmarc.rude.test TXT "v=DMARC1; p=none; rua=mailto:agg@elsewhere.test"',
    "elsewhere.test MX 10 mx.quar.test.",
    'plain.test TXT "v=spf1 ip4:192.0.2.0/24 -all"',
]
pytestmark = pytest.mark.dns_zone(ZONE)


def rfc_schema() -> xmlschema.XMLSchema:
    text = SCHEMA.read_text().replace('targetNamespace="http://dmarc.org/dmarc-xml/0.1"', "")
    return xmlschema.XMLSchema(text)


def mail(domain: str, n: int) -> bytes:
    return (
        f"From: Sender <news@{domain}>\r\nTo: alice@example.test\r\nSubject: note {n}\r\n"
        f"Date: Tue, 24 Nov 2026 10:00:00 +0000\r\nMessage-ID: <{n}@{domain}>\r\n\r\nhi\r\n"
    ).encode()


@pytest.fixture
def env(tmp_path: Path, dns: DnsServer) -> Iterator[Relay]:
    relay = make_relay(tmp_path, dns)
    add_config(tmp_path / "mailrs.toml", "spam", check_sender_auth=True)
    relay.settings = load_settings(tmp_path / "mailrs.toml", environ={})
    configure(relay.settings)
    yield relay
    relay.db.dispose()


def receive(env: Relay, domain: str, ip: str, n: int) -> str:
    envelope = Envelope(f"news@{domain}", ("alice@example.test",), ip, f"mail.{domain}")
    queue_id = accept_message(env.db, env.spool, envelope, mail(domain, n))
    drive(queue_id)
    return queue_id


def folders(env: Relay) -> dict[str, str]:
    """Subject -> folder of alice's delivered mail."""
    found = {}
    for folder in ("INBOX", "Junk"):
        if folder not in env.store.list_folders("alice@example.test"):
            continue
        for meta in env.store.list_messages("alice@example.test", folder):
            data = env.store.read("alice@example.test", folder, meta.key)
            subject = message_from_bytes(data, policy=default_policy)["Subject"]
            found[str(subject)] = folder
    return found


def test_quarantine_goes_to_junk_and_the_daily_reports_validate_against_the_rfc_schema(
    env: Relay,
) -> None:
    receive(env, "quar.test", "192.0.2.10", 1)  # SPF passes, aligned: DMARC pass
    receive(env, "quar.test", "198.51.100.7", 2)  # SPF fails: DMARC fail, p=quarantine
    receive(env, "quar.test", "198.51.100.7", 3)
    receive(env, "far.test", "198.51.100.8", 4)  # p=reject, not enforced: Junk as well
    receive(env, "rude.test", "192.0.2.11", 5)  # rua elsewhere without authorization
    receive(env, "plain.test", "198.51.100.9", 6)  # no DMARC record: nothing recorded
    assert folders(env) == {
        "note 1": "INBOX",
        "note 2": "Junk",
        "note 3": "Junk",
        "note 4": "Junk",
        "note 5": "INBOX",
        "note 6": "INBOX",
    }
    with env.db.session() as session:
        rows = session.scalars(select(DmarcResult).order_by(DmarcResult.id)).all()
        assert [(r.header_from, r.disposition, r.override) for r in rows] == [
            ("quar.test", "none", ""),
            ("quar.test", "quarantine", ""),
            ("quar.test", "quarantine", ""),
            ("far.test", "quarantine", "local_policy"),
            ("rude.test", "none", ""),
        ]
        dispositions = session.scalars(select(Message.dmarc_disposition).order_by(Message.id)).all()
        assert list(dispositions) == ["", "quarantine", "quarantine", "quarantine", "", ""]

    today = dt.datetime.now(dt.UTC).date()
    assert queue_due_reports(env.db, env.spool, env.settings, today) == []  # the day is not over
    tomorrow = today + dt.timedelta(days=1)
    with SmtpSink(env.port) as sink:
        queued = queue_due_reports(env.db, env.spool, env.settings, tomorrow)
        assert len(queued) == 2  # quar.test and far.test; rude.test's address did not agree
        for queue_id in queued:
            drive(queue_id)
    assert queue_due_reports(env.db, env.spool, env.settings, tomorrow) == []  # once
    by_rcpt = {tuple(m.rcpt_tos): m for m in sink.messages}
    assert set(by_rcpt) == {("dmarc@quar.test",), ("agg@reports.test",)}
    schema = rfc_schema()
    for (rcpt,), got in by_rcpt.items():
        message = message_from_bytes(got.data, policy=default_policy)
        domain = "quar.test" if rcpt.endswith("quar.test") else "far.test"
        assert message["Subject"].startswith(f"Report Domain: {domain} Submitter: mx.example.test")
        (attachment,) = list(message.iter_attachments())
        assert attachment.get_content_type() == "application/gzip"
        assert attachment.get_filename().startswith(f"mx.example.test!{domain}!")
        xml = gzip.decompress(attachment.get_payload(decode=True))
        schema.validate(xml)  # raises with the reason when the document is not valid
        report = parse_report(xml)  # our own importer reads what we send
        assert report.domain == domain and report.org_name == "mx.example.test"
        counts = sorted((r.source_ip, r.count, r.disposition, r.spf) for r in report.rows)
        if domain == "quar.test":
            assert counts == [
                ("192.0.2.10", 1, "none", "pass"),
                ("198.51.100.7", 2, "quarantine", "fail"),
            ]
            assert report.policy == "quarantine"
        else:
            assert counts == [("198.51.100.8", 1, "quarantine", "fail")]
            root = ElementTree.fromstring(xml)
            assert root.findtext("record/row/policy_evaluated/reason/type") == "local_policy"
            assert root.findtext("record/identifiers/envelope_from") == "far.test"
            assert root.findtext("record/auth_results/spf/scope") == "mfrom"


def test_the_schema_refuses_a_broken_report() -> None:
    """The validator is not a rubber stamp: a report missing what the RFC requires fails."""
    schema = rfc_schema()
    broken = b"<feedback><version>1.0</version><report_metadata><org_name>x</org_name>" + (
        b"</report_metadata></feedback>"
    )
    with pytest.raises(xmlschema.XMLSchemaValidationError):
        schema.validate(broken)
