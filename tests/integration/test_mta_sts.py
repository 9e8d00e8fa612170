"""MTA-STS (RFC 8461) outbound and TLS-RPT (RFC 8460) against real parts on loopback.

A real DNS server publishes ``_mta-sts.sts.test`` and ``_smtp._tls.sts.test``; a real
HTTPS server with a certificate from the test CA serves the policy file; real SMTP sinks
take the mail, with a certificate valid for the MX name or not. The relay stage runs
in-process as the task would, trusting the test CA through ``relay.tls_ca_file``.
"""

from __future__ import annotations

import gzip
import json
import subprocess
from collections.abc import Iterator
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

import dns.name
import dns.rdatatype
import pytest
from sqlalchemy import select
from support.dns import DnsServer
from support.https_policy import PolicyServer
from support.pipeline import drive
from support.processes import mailrs_argv
from support.relay import BODY, Relay, make_relay
from support.smtp_sink import SmtpSink
from support.test_ca import TestCA

from mailrs.db.models import MtaStsPolicy, TlsResult

ZONE = [
    "sts.test MX 10 mx.sts.test.",
    "mx.sts.test A 127.0.0.1",
    '_mta-sts.sts.test TXT "v=STSv1; id=first"',
    "mta-sts.sts.test A 127.0.0.1",
    '_smtp._tls.sts.test TXT "v=TLSRPTv1; rua=mailto:alice@example.test"',
    "plain.test MX 10 mx.plain.test.",
    "mx.plain.test A 127.0.0.1",
]
pytestmark = pytest.mark.dns_zone(ZONE)
ENFORCE = "version: STSv1\nmode: enforce\nmx: mx.sts.test\nmax_age: 86400\n"
TESTING = ENFORCE.replace("enforce", "testing")


@pytest.fixture
def ca(tmp_path: Path) -> TestCA:
    return TestCA(tmp_path / "ca")


@pytest.fixture
def https(ca: TestCA) -> Iterator[PolicyServer]:
    with PolicyServer(ca.issue("mta-sts.sts.test")) as server:
        server.policy(ENFORCE)
        yield server


@pytest.fixture
def relay(tmp_path: Path, dns: DnsServer, ca: TestCA, https: PolicyServer) -> Iterator[Relay]:
    env = make_relay(tmp_path, dns, tls_ca_file=str(ca.path), mta_sts_https_port=https.port)
    yield env
    env.db.dispose()


def results(relay: Relay) -> list[tuple[str, str, str]]:
    with relay.db.session() as session:
        rows = session.scalars(select(TlsResult).order_by(TlsResult.id)).all()
        return [(r.policy_domain, r.policy_type, r.result) for r in rows]


def test_enforce_delivers_over_verified_tls_and_caches_the_policy(
    relay: Relay, ca: TestCA, https: PolicyServer
) -> None:
    with SmtpSink(relay.port, tls_pair=ca.issue("mx.sts.test")) as sink:
        drive(relay.send("bob@sts.test"))
        drive(relay.send("carol@sts.test"))
    assert [m.tls for m in sink.messages] == [True, True]
    assert https.requests["/.well-known/mta-sts.txt"] == 1  # the second came from the cache
    with relay.db.session() as session:
        cached = session.get(MtaStsPolicy, "sts.test")
        assert cached is not None and cached.mode == "enforce" and cached.policy_id == "first"
        assert (cached.expires_at - cached.fetched_at).total_seconds() == 86400
    assert results(relay) == [("sts.test", "sts", "success")] * 2


def test_a_new_policy_id_fetches_again(
    relay: Relay, ca: TestCA, https: PolicyServer, dns: DnsServer
) -> None:
    with SmtpSink(relay.port, tls_pair=ca.issue("mx.sts.test")):
        drive(relay.send("bob@sts.test"))
        name = dns_name("_mta-sts.sts.test")
        dns.records[name][dns_txt()] = ['"v=STSv1; id=second"']
        https.policy(TESTING)
        drive(relay.send("bob@sts.test"))
    assert https.requests["/.well-known/mta-sts.txt"] == 2
    with relay.db.session() as session:
        cached = session.get(MtaStsPolicy, "sts.test")
        assert cached is not None and (cached.policy_id, cached.mode) == ("second", "testing")


def dns_name(text: str) -> dns.name.Name:
    return dns.name.from_text(text)


def dns_txt() -> int:
    return dns.rdatatype.TXT


@pytest.mark.parametrize(
    ("certificate", "failure"),
    [
        ("wrong-name", "certificate-host-mismatch"),
        ("expired", "certificate-expired"),
        ("self-signed", "certificate-not-trusted"),
        ("none", "starttls-not-supported"),
    ],
)
def test_enforce_defers_when_the_certificate_does_not_hold(
    relay: Relay, ca: TestCA, tmp_path: Path, certificate: str, failure: str
) -> None:
    kwargs: dict[str, object] = {}
    if certificate == "wrong-name":
        kwargs["tls_pair"] = ca.issue("other.example")
    elif certificate == "expired":
        kwargs["tls_pair"] = ca.issue("mx.sts.test", expired=True)
    elif certificate == "self-signed":
        kwargs["tls_dir"] = tmp_path / "selfsigned"
    with SmtpSink(relay.port, **kwargs) as sink:  # type: ignore[arg-type]
        queue_id = relay.send("bob@sts.test")
        drive(queue_id)
    assert sink.messages == []
    (delivery,) = relay.message(queue_id).deliveries
    assert delivery.state == "deferred" and delivery.status == "4.7.5"
    assert results(relay) == [("sts.test", "sts", failure)]


def test_enforce_skips_mx_hosts_the_policy_does_not_name(
    relay: Relay, ca: TestCA, https: PolicyServer
) -> None:
    https.policy(ENFORCE.replace("mx: mx.sts.test", "mx: *.elsewhere.test"))
    with SmtpSink(relay.port, tls_pair=ca.issue("mx.sts.test")) as sink:
        queue_id = relay.send("bob@sts.test")
        drive(queue_id)
    assert sink.messages == []
    (delivery,) = relay.message(queue_id).deliveries
    assert delivery.state == "deferred" and "MTA-STS" in delivery.last_error
    assert results(relay) == [("sts.test", "sts", "validation-failure")]


def test_testing_mode_reports_but_delivers(relay: Relay, ca: TestCA, https: PolicyServer) -> None:
    https.policy(TESTING)
    with SmtpSink(relay.port, tls_pair=ca.issue("other.example")) as sink:
        queue_id = relay.send("bob@sts.test")
        drive(queue_id)
    (got,) = sink.messages
    assert got.tls  # opportunistic TLS after the verified attempt failed
    assert relay.message(queue_id).deliveries[0].state == "relayed"
    assert results(relay) == [("sts.test", "sts", "certificate-host-mismatch")]


def test_tls_required_no_lets_a_message_past_an_enforce_failure(relay: Relay, ca: TestCA) -> None:
    data = b"TLS-Required: No\r\n" + BODY
    with SmtpSink(relay.port, tls_pair=ca.issue("other.example")) as sink:
        queue_id = relay.send("bob@sts.test", data=data)
        drive(queue_id)
    assert len(sink.messages) == 1
    assert relay.message(queue_id).deliveries[0].state == "relayed"


@pytest.mark.parametrize(
    ("policy", "kind", "failure"),
    [
        (ENFORCE.replace("STSv1", "STSv2"), "text/plain", "sts-policy-invalid"),
        (ENFORCE, "text/html", "sts-policy-fetch-error"),
    ],
)
def test_a_bad_policy_is_no_policy(
    relay: Relay, https: PolicyServer, tmp_path: Path, policy: str, kind: str, failure: str
) -> None:
    https.policy(policy, kind)
    with SmtpSink(relay.port, tls_dir=tmp_path / "plain-tls") as sink:
        drive(relay.send("bob@sts.test"))
    assert len(sink.messages) == 1  # delivered as if there were no policy
    assert results(relay)[0] == ("sts.test", "no-policy-found", failure)


def test_policy_over_an_untrusted_certificate_is_refused(
    tmp_path: Path, dns: DnsServer, ca: TestCA
) -> None:
    with PolicyServer(TestCA(tmp_path / "other-ca").issue("mta-sts.sts.test")) as rogue:
        rogue.policy(ENFORCE)
        env = make_relay(tmp_path, dns, tls_ca_file=str(ca.path), mta_sts_https_port=rogue.port)
        with SmtpSink(env.port) as sink:
            drive(env.send("bob@sts.test"))
        assert len(sink.messages) == 1
        assert results(env)[0] == ("sts.test", "no-policy-found", "sts-webpki-invalid")
        env.db.dispose()


def test_daily_tls_report_is_mailed_to_the_rua(relay: Relay, ca: TestCA) -> None:
    with SmtpSink(relay.port, tls_pair=ca.issue("mx.sts.test")):
        drive(relay.send("bob@sts.test"))
        drive(relay.send("bob@sts.test"))
    with SmtpSink(relay.port, tls_pair=ca.issue("other.example")):
        drive(relay.send("bob@sts.test"))
    with SmtpSink(relay.port):
        drive(relay.send("bob@plain.test"))  # no policy, no TLS: reported to nobody (no rua)
    with relay.db.session() as session:
        day = session.scalars(select(TlsResult.at)).first().date()  # type: ignore[union-attr]
    argv = mailrs_argv("tlsrpt", "send", "--config", str(relay.config), "--day", day.isoformat())
    sent = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert sent.returncode == 0, sent.stderr
    assert "sts.test: report queued" in sent.stdout and "plain.test: no rua" in sent.stdout
    again = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert "sts.test: already sent" in again.stdout
    with relay.db.session() as session:
        from mailrs.db.models import Message

        (queued,) = session.scalars(
            select(Message.queue_id).where(Message.mail_from.like("postmaster@%"))
        ).all()
    drive(queued)
    (raw,) = relay.inbox()
    report = message_from_bytes(raw, policy=default_policy)
    assert report.get_content_type() == "multipart/report"
    assert report.get_param("report-type") == "tlsrpt"
    assert report["TLS-Report-Domain"] == "sts.test"
    (attachment,) = [p for p in report.iter_attachments()]
    assert attachment.get_content_type() == "application/tlsrpt+gzip"
    assert attachment.get_filename().endswith(".json.gz")
    document = json.loads(gzip.decompress(attachment.get_content()))
    (block,) = document["policies"]
    assert block["policy"]["policy-type"] == "sts"
    assert block["policy"]["policy-domain"] == "sts.test"
    assert block["policy"]["mx-host"] == ["mx.sts.test"]
    assert "mode: enforce" in block["policy"]["policy-string"]
    assert block["summary"] == {
        "total-successful-session-count": 2,
        "total-failure-session-count": 1,
    }
    assert block["failure-details"] == [
        {
            "result-type": "certificate-host-mismatch",
            "failed-session-count": 1,
            "receiving-mx-hostname": "mx.sts.test",
            "receiving-ip": "127.0.0.1",
        }
    ]
    assert document["date-range"]["start-datetime"] == f"{day.isoformat()}T00:00:00Z"
