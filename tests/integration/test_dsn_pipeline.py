"""DSN requests (RFC 3461) and REQUIRETLS (RFC 8689) honoured through the pipeline.

The stages run in-process; the DNS server, the SMTP sinks (with or without the DSN and
REQUIRETLS extensions, with or without TLS) and the certificate authority are real. The
reports land in alice's inbox: she is the sender of every message here.
"""

from __future__ import annotations

from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message as EmailMessage
from email.policy import default as default_policy
from pathlib import Path

import pytest
from support.dns import DnsServer
from support.pipeline import drive
from support.relay import Relay, make_relay
from support.smtp_sink import Script, SmtpSink
from support.test_ca import TestCA

ZONE = [
    "remote.test MX 10 mx.remote.test.",
    "mx.remote.test A 127.0.0.1",
    "secure.test MX 10 mx.secure.test.",
    "mx.secure.test A 127.0.0.1",
]
pytestmark = pytest.mark.dns_zone(ZONE)


@pytest.fixture
def ca(tmp_path: Path) -> TestCA:
    return TestCA(tmp_path / "ca")


@pytest.fixture
def relay(tmp_path: Path, dns: DnsServer, ca: TestCA) -> Iterator[Relay]:
    env = make_relay(tmp_path, dns, tls_ca_file=str(ca.path))
    yield env
    env.db.dispose()


def reports(relay: Relay) -> list[EmailMessage]:
    """The DSNs in alice's inbox, parsed."""
    found = [message_from_bytes(raw, policy=default_policy) for raw in relay.inbox()]
    return [m for m in found if m.get_content_type() == "multipart/report"]  # type: ignore[misc]


def status_text(report: EmailMessage) -> str:
    """The message/delivery-status part as text."""
    for part in report.walk():
        if part.get_content_type() == "message/delivery-status":
            return "\n".join(str(block) for block in part.get_payload())  # type: ignore[union-attr]
    raise AssertionError("no delivery-status part")


def returned(report: EmailMessage) -> EmailMessage:
    """The third part: the returned message or its headers."""
    return list(report.iter_parts())[2]  # type: ignore[return-value]


def test_local_delivery_with_notify_success_reports_delivered(relay: Relay) -> None:
    queue_id = relay.send(
        "alice@example.test",
        envid="env 42",
        notify=("SUCCESS",),
        orcpt=("rfc822;Alice@Example.Test",),
    )
    drive(queue_id)
    (report,) = reports(relay)
    assert report["Subject"] == "Successful Mail Delivery Report"
    text = status_text(report)
    assert "Original-Envelope-Id: env 42" in text
    assert "Original-Recipient: rfc822;Alice@Example.Test" in text
    assert "Final-Recipient: rfc822; alice@example.test" in text
    assert "Action: delivered" in text and "Status: 2.0.0" in text
    assert returned(report).get_content_type() == "text/rfc822-headers"
    assert relay.message(queue_id).state == "delivered"


def test_no_success_report_unless_asked(relay: Relay) -> None:
    drive(relay.send("alice@example.test"))
    drive(relay.send("alice@example.test", notify=("FAILURE,DELAY",)))
    assert reports(relay) == [] and len(relay.inbox()) == 2


def test_relay_to_a_server_without_dsn_reports_relayed(relay: Relay) -> None:
    with SmtpSink(relay.port) as sink:
        queue_id = relay.send("bob@remote.test", notify=("SUCCESS,FAILURE",), envid="e1")
        drive(queue_id)
    (got,) = sink.messages
    assert got.params == []
    (report,) = reports(relay)
    text = status_text(report)
    assert "Action: relayed" in text and "Remote-MTA: dns; mx.remote.test" in text
    assert "Original-Envelope-Id: e1" in text


def test_relay_to_a_dsn_server_passes_the_request_on(relay: Relay) -> None:
    with SmtpSink(relay.port, dsn=True) as sink:
        queue_id = relay.send(
            "bob@remote.test",
            "carol@remote.test",
            ret="HDRS",
            envid="id+with=signs",
            notify=("SUCCESS,FAILURE", ""),
            orcpt=("rfc822;Bob@Remote.Test", ""),
        )
        drive(queue_id)
    (got,) = sink.messages
    assert got.params == [
        "RET=HDRS",
        "ENVID=id+2Bwith+3Dsigns",
        "NOTIFY=SUCCESS,FAILURE",
        "ORCPT=rfc822;Bob@Remote.Test",
    ]
    assert reports(relay) == []  # the next hop reports from now on
    assert all(d.dsn_sent for d in relay.message(queue_id).deliveries)


def test_failure_report_carries_envid_orcpt_and_the_full_message(relay: Relay) -> None:
    script = Script(rcpt_replies={"gone@remote.test": "550 5.1.1 no such user"})
    with SmtpSink(relay.port, script):
        drive(
            relay.send(
                "gone@remote.test", ret="FULL", envid="E-1", orcpt=("rfc822;gone@remote.test",)
            )
        )
    (report,) = reports(relay)
    text = status_text(report)
    assert "Original-Envelope-Id: E-1" in text and "Action: failed" in text
    assert "Original-Recipient: rfc822;gone@remote.test" in text
    part = returned(report)
    assert part.get_content_type() == "message/rfc822"
    assert b"bye" in part.as_bytes()  # the body came back, not only the headers


def test_ret_hdrs_returns_headers_only(relay: Relay) -> None:
    script = Script(rcpt_replies={"gone@remote.test": "550 5.1.1 no such user"})
    with SmtpSink(relay.port, script):
        drive(relay.send("gone@remote.test", ret="HDRS"))
    (report,) = reports(relay)
    part = returned(report)
    assert part.get_content_type() == "text/rfc822-headers"
    assert b"Subject: out" in part.as_bytes() and b"bye" not in part.as_bytes()


def test_notify_never_sends_no_bounce(relay: Relay) -> None:
    script = Script(rcpt_replies={"gone@remote.test": "550 5.1.1 no such user"})
    with SmtpSink(relay.port, script):
        queue_id = relay.send("gone@remote.test", notify=("NEVER",))
        drive(queue_id)
    assert reports(relay) == []
    message = relay.message(queue_id)
    assert message.state == "failed" and message.deliveries[0].dsn_sent
    assert any("NOTIFY asks no failure report" in e.detail for e in message.events)


def test_delay_warning_only_when_asked(relay: Relay) -> None:
    script = Script(rcpt_replies={"slow@remote.test": "451 4.4.5 busy"})
    with SmtpSink(relay.port, script):
        quiet = relay.send("slow@remote.test", notify=("FAILURE",))
        asked = relay.send("slow@remote.test", notify=("DELAY",), envid="late")
        for queue_id in (quiet, asked):
            drive(queue_id)
            relay.age(queue_id, 5)  # past the 4-hour warning
            drive(queue_id)
    (warning,) = reports(relay)
    text = status_text(warning)
    assert "Action: delayed" in text and "Original-Envelope-Id: late" in text
    assert relay.message(quiet).warned_at is None


def test_requiretls_goes_only_over_verified_tls_to_a_requiretls_server(
    relay: Relay, ca: TestCA
) -> None:
    pair = ca.issue("mx.secure.test")
    with SmtpSink(relay.port, tls_pair=pair, requiretls=True, dsn=True) as sink:
        queue_id = relay.send("bob@secure.test", require_tls=True, notify=("SUCCESS",))
        drive(queue_id)
    (got,) = sink.messages
    assert got.tls and got.params == ["REQUIRETLS", "NOTIFY=SUCCESS"]
    assert relay.message(queue_id).deliveries[0].state == "relayed"


@pytest.mark.parametrize(
    ("sink_options", "reason"),
    [
        ({}, "REQUIRETLS support required"),  # no TLS at all
        ({"tls": "self-signed", "requiretls": True}, "certificate refused"),
        ({"tls": "wrong-name", "requiretls": True}, "certificate refused"),
        ({"tls": "valid"}, "does not offer"),  # TLS, but no REQUIRETLS extension
    ],
)
def test_requiretls_message_bounces_when_the_path_is_not_secure(
    relay: Relay, ca: TestCA, tmp_path: Path, sink_options: dict[str, object], reason: str
) -> None:
    tls = sink_options.pop("tls", None)
    kwargs: dict[str, object] = dict(sink_options)
    if tls == "self-signed":
        kwargs["tls_dir"] = tmp_path / "selfsigned"
    elif tls == "wrong-name":
        kwargs["tls_pair"] = ca.issue("other.example")
    elif tls == "valid":
        kwargs["tls_pair"] = ca.issue("mx.secure.test")
    with SmtpSink(relay.port, **kwargs) as sink:  # type: ignore[arg-type]
        queue_id = relay.send("bob@secure.test", require_tls=True, ret="FULL")
        drive(queue_id)
    assert sink.messages == []
    (delivery,) = relay.message(queue_id).deliveries
    assert delivery.state == "failed" and delivery.status == "5.7.30"
    assert reason in delivery.last_error
    (report,) = reports(relay)
    assert returned(report).get_content_type() == "text/rfc822-headers"  # never the body
    with relay.db.session() as session:
        from sqlalchemy import select

        from mailrs.db.models import Message

        dsn = session.scalar(select(Message).where(Message.mail_from == ""))
        assert dsn is not None and dsn.require_tls
