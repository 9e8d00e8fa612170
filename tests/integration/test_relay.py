"""Outbound delivery against a real DNS server and real SMTP sinks on loopback.

The relay stage runs in-process (as the tasks would call it) while the DNS server and the
SMTP sinks are real servers on 127.0.0.1; ``mx1.remote.test`` points at 127.0.0.2, where
nothing listens, so a connection to it is refused.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import dkim
import pytest
from sqlalchemy import select
from support.config import free_port
from support.dns import DnsServer
from support.pipeline import drive
from support.relay import BODY, Relay, make_relay
from support.smtp_sink import Script, SmtpSink

from mailrs.db.models import Message
from mailrs.outbound.mx import MxError, mail_hosts, make_resolver
from mailrs.queue.retry import backoff_secs

ZONE = [
    "remote.test MX 10 mx1.remote.test.",
    "remote.test MX 20 mx2.remote.test.",
    "mx1.remote.test A 127.0.0.2",
    "mx2.remote.test A 127.0.0.1",
    "other.test MX 10 mx.other.test.",
    "mx.other.test A 127.0.0.1",
    "twin.test MX 10 a.twin.test.",
    "twin.test MX 10 b.twin.test.",
    "a.twin.test A 127.0.0.1",
    "b.twin.test A 127.0.0.1",
    "implicit.test A 127.0.0.1",
    "nullmx.test MX 0 .",
    "noaddr.test MX 10 ghost.noaddr.test.",
]
pytestmark = pytest.mark.dns_zone(ZONE, servfail=("broken.test",))


@pytest.fixture
def relay(tmp_path: Path, dns: DnsServer) -> Iterator[Relay]:
    env = make_relay(tmp_path, dns)
    yield env
    env.db.dispose()


def dsn_parts(dsn: bytes) -> str:
    return dsn.decode("utf-8", "replace")


def test_first_mx_refuses_the_second_accepts(relay: Relay) -> None:
    with SmtpSink(relay.port) as sink:
        queue_id = relay.send("bob@remote.test")
        drive(queue_id)
    (got,) = sink.messages
    assert got.mail_from == "alice@example.test" and got.rcpt_tos == ["bob@remote.test"]
    assert got.data.endswith(BODY) and b"Received: from me" in got.data
    message = relay.message(queue_id)
    assert message.state == "delivered" and message.finished_at is not None
    (delivery,) = message.deliveries
    assert delivery.state == "relayed" and delivery.remote_mta == "mx2.remote.test"
    hosts = [(a.host, a.outcome) for a in message.attempt_log]
    assert hosts == [
        ("mx1.remote.test[127.0.0.2]", "unavailable"),
        ("mx2.remote.test[127.0.0.1]", "sent"),
    ]
    assert "refused" in message.attempt_log[0].detail.lower()


def test_a_4xx_host_passes_the_message_to_the_next(relay: Relay) -> None:
    with SmtpSink(relay.port, Script(fail_first=1)) as sink:
        queue_id = relay.send("bob@twin.test")
        drive(queue_id)
    assert len(sink.messages) == 1 and sink.transactions == 2
    outcomes = [a.outcome for a in relay.message(queue_id).attempt_log]
    assert outcomes == ["unavailable", "sent"]
    assert "451 4.3.0" in relay.message(queue_id).attempt_log[0].detail


def test_per_recipient_results_in_one_transaction_then_retry(relay: Relay) -> None:
    script = Script(
        rcpt_replies={
            "later@remote.test": "452 4.2.2 mailbox full, try later",
            "gone@remote.test": "550 5.1.1 no such user here",
        }
    )
    with SmtpSink(relay.port, script) as sink:
        queue_id = relay.send(
            "ok@remote.test", "later@remote.test", "gone@remote.test", "friend@other.test"
        )
        drive(queue_id)
        # One transaction per destination domain: remote.test's two accepted in one.
        by_domain = sorted(tuple(m.rcpt_tos) for m in sink.messages)
        assert by_domain == [("friend@other.test",), ("ok@remote.test",)]
        message = relay.message(queue_id)
        states = {d.address: (d.state, d.status) for d in message.deliveries}
        assert states == {
            "ok@remote.test": ("relayed", "2.0.0"),
            "later@remote.test": ("deferred", "4.2.2"),
            "gone@remote.test": ("failed", "5.1.1"),
            "friend@other.test": ("relayed", "2.0.0"),
        }
        assert message.finished_at is None and message.next_attempt_at is not None
        (dsn,) = relay.inbox()
        text = dsn_parts(dsn)
        assert "Content-Type: multipart/report; report-type=delivery-status" in text
        assert "Content-Type: message/delivery-status" in text
        assert "Final-Recipient: rfc822; gone@remote.test" in text
        assert "Action: failed" in text and "Status: 5.1.1" in text
        assert "Diagnostic-Code: smtp; 550 5.1.1 no such user here" in text
        assert "Remote-MTA: dns; mx2.remote.test" in text
        assert "Content-Type: text/rfc822-headers" in text and "Subject: out" in text
        assert "later@remote.test" not in text.split("message/delivery-status", 1)[1]
        # The mailbox has room again; the retry (due now) delivers the rest.
        script.rcpt_replies.pop("later@remote.test")
        relay.age(queue_id, 0)
        drive(queue_id)
        assert [m.rcpt_tos for m in sink.messages][-1] == ["later@remote.test"]
    message = relay.message(queue_id)
    assert message.state == "delivered" and message.finished_at is not None
    assert len(relay.inbox()) == 1  # no second DSN
    assert not relay.spool.exists(queue_id)


def test_null_mx_bounces_at_once(relay: Relay) -> None:
    queue_id = relay.send("anyone@nullmx.test")
    drive(queue_id)
    message = relay.message(queue_id)
    assert message.state == "failed" and message.deliveries[0].status == "5.1.10"
    (dsn,) = relay.inbox()
    assert "Status: 5.1.10" in dsn_parts(dsn) and "null MX" in dsn_parts(dsn)


def test_implicit_mx_uses_the_domain_address(relay: Relay) -> None:
    with SmtpSink(relay.port) as sink:
        queue_id = relay.send("bob@implicit.test")
        drive(queue_id)
    assert [m.rcpt_tos for m in sink.messages] == [["bob@implicit.test"]]
    assert relay.message(queue_id).attempt_log[0].host == "implicit.test[127.0.0.1]"


def test_dns_answers_decide_bounce_or_retry(relay: Relay) -> None:
    missing = relay.send("bob@nowhere.test")
    drive(missing)
    assert relay.message(missing).deliveries[0].status == "5.1.2"
    broken = relay.send("bob@broken.test")
    drive(broken)
    (delivery,) = relay.message(broken).deliveries
    assert delivery.state == "deferred" and delivery.status == "4.4.3"
    noaddr = relay.send("bob@noaddr.test")
    drive(noaddr)
    assert relay.message(noaddr).deliveries[0].state == "deferred"
    assert len(relay.inbox()) == 1  # only the NXDOMAIN bounced


def test_expiry_bounces_after_a_delayed_warning(relay: Relay) -> None:
    script = Script(rcpt_replies={"slow@remote.test": "451 4.4.5 busy"})
    with SmtpSink(relay.port, script):
        queue_id = relay.send("slow@remote.test")
        drive(queue_id)
        assert relay.inbox() == []  # too early for a warning
        relay.age(queue_id, 5)  # past the 4-hour warning
        drive(queue_id)
        (warning,) = relay.inbox()
        assert "Action: delayed" in dsn_parts(warning) and "Status: 4.4.5" in dsn_parts(warning)
        assert "Will-Retry-Until:" in dsn_parts(warning)
        assert relay.message(queue_id).finished_at is None
        relay.age(queue_id, 24 * 5)  # past the 5-day lifetime
        drive(queue_id)
    message = relay.message(queue_id)
    assert message.state == "failed" and message.deliveries[0].status == "4.4.7"
    bounce = [d for d in relay.inbox() if b"Action: failed" in d]
    assert len(bounce) == 1 and len(relay.inbox()) == 2
    assert "Status: 4.4.7" in dsn_parts(bounce[0]) and "451 4.4.5 busy" in dsn_parts(bounce[0])


def test_no_bounce_to_the_null_sender(relay: Relay) -> None:
    with SmtpSink(relay.port, Script(rcpt_replies={"gone@remote.test": "550 5.1.1 no"})):
        queue_id = relay.send("gone@remote.test", sender="")
        drive(queue_id)
    message = relay.message(queue_id)
    assert message.state == "failed" and message.deliveries[0].dsn_sent
    assert any("not sent: the sender is <>" in e.detail for e in message.events)
    with relay.db.session() as session:
        assert (
            session.scalar(select(Message).where(Message.mail_from == "", Message.id != message.id))
            is None
        )


def test_opportunistic_starttls(relay: Relay, tmp_path: Path) -> None:
    with SmtpSink(relay.port, tls_dir=tmp_path / "tls") as sink:
        drive(relay.send("bob@other.test"))
    (got,) = sink.messages
    assert got.tls


def test_smarthost_with_starttls_and_auth(tmp_path: Path, dns: DnsServer) -> None:
    port = free_port()
    env = make_relay(
        tmp_path,
        dns,
        smarthost=f"127.0.0.1:{port}",
        smarthost_tls="require",
        smarthost_username="relayuser",
        smarthost_password="fake-test-password",
    )
    sink = SmtpSink(port, tls_dir=tmp_path / "tls", credentials=("relayuser", "fake-test-password"))
    with sink:
        queue_id = env.send("x@nullmx.test", "y@remote.test")  # no DNS needed: the smarthost
        drive(queue_id)
    assert sorted(r for m in sink.messages for r in m.rcpt_tos) == [
        "x@nullmx.test",
        "y@remote.test",
    ]
    assert all(m.tls and m.auth == "relayuser" for m in sink.messages)
    assert env.message(queue_id).state == "delivered"
    env.db.dispose()


def test_smarthost_refusing_our_password_defers(tmp_path: Path, dns: DnsServer) -> None:
    port = free_port()
    env = make_relay(
        tmp_path,
        dns,
        smarthost=f"127.0.0.1:{port}",
        smarthost_tls="require",
        smarthost_username="relayuser",
        smarthost_password="wrong-password",
    )
    with SmtpSink(port, tls_dir=tmp_path / "tls", credentials=("relayuser", "right")) as sink:
        queue_id = env.send("y@remote.test")
        drive(queue_id)
    assert sink.messages == []
    (delivery,) = env.message(queue_id).deliveries
    assert delivery.state == "deferred" and "AUTH refused" in delivery.last_error
    env.db.dispose()


def test_mail_from_our_domains_is_dkim_signed(tmp_path: Path, dns: DnsServer) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_path = tmp_path / "dkim.pem"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    env = make_relay(tmp_path, dns, dkim_selector="s1", dkim_key_path=str(key_path))
    with SmtpSink(env.port) as sink:
        drive(env.send("bob@other.test"))
    (got,) = sink.messages
    assert got.data.startswith(b"DKIM-Signature:")
    import base64

    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)

    def txt(name: bytes, timeout: int = 5) -> bytes:
        return record if name == b"s1._domainkey.example.test." else b""

    assert dkim.verify(got.data, dnsfunc=txt)
    env.db.dispose()


def test_mail_from_a_domain_set_up_with_mailrs_domain_add_is_signed_with_both_keys(
    tmp_path: Path, dns: DnsServer
) -> None:
    from mailrs.accounts.dns_records import dkim_records
    from mailrs.accounts.domains import add_domain

    env = make_relay(tmp_path, dns)
    with env.db.session() as session:
        domain = add_domain(session, env.settings, "example.test")
        selector = domain.dkim_selector
    assert selector
    records = {
        f"{r.name}.example.test.".encode(): "".join(r.value.split('"')[1::2]).encode()
        for r in dkim_records(env.settings, "example.test", selector, "DKIM")
    }
    with SmtpSink(env.port) as sink:
        drive(env.send("bob@other.test"))
    (got,) = sink.messages
    assert got.data.count(b"DKIM-Signature:") == 2

    def txt(name: bytes, timeout: int = 5) -> bytes:
        return records.get(name, b"")

    checker = dkim.DKIM(got.data)
    algorithms = set()
    for index in range(2):
        assert checker.verify(idx=index, dnsfunc=txt)
        algorithms.add(checker.signature_fields[b"a"])
    assert algorithms == {b"rsa-sha256", b"ed25519-sha256"}
    env.db.dispose()


def test_mail_hosts_from_the_test_dns(relay: Relay) -> None:
    resolver = make_resolver(relay.settings.relay)
    hosts = mail_hosts(resolver, "remote.test")
    assert [(h.name, h.address, h.preference) for h in hosts] == [
        ("mx1.remote.test", "127.0.0.2", 10),
        ("mx2.remote.test", "127.0.0.1", 20),
    ]
    with pytest.raises(MxError) as null:
        mail_hosts(resolver, "nullmx.test")
    assert null.value.permanent and null.value.status == "5.1.10"


def test_backoff_grows_with_jitter_up_to_the_cap(relay: Relay) -> None:
    settings = relay.settings.relay
    rng = random.Random(1)
    waits = [backoff_secs(settings, n, rng) for n in range(12)]
    assert 240 <= waits[0] <= 360  # 5 minutes ± 20 %
    assert waits[3] > waits[1] > waits[0]
    assert all(w <= 4 * 3600 * 1.2 for w in waits) and waits[-1] >= 4 * 3600 * 0.8


def test_non_ascii_address_needs_smtputf8(relay: Relay) -> None:
    with SmtpSink(relay.port) as sink:
        drive(relay.send("jörg@other.test"))
    assert [m.rcpt_tos for m in sink.messages] == [["jörg@other.test"]]
    with SmtpSink(relay.port, smtputf8=False) as sink:
        queue_id = relay.send("jörg@other.test")
        drive(queue_id)
    assert sink.messages == []
    (delivery,) = relay.message(queue_id).deliveries
    assert delivery.state == "failed" and delivery.status == "5.6.7"
    (dsn,) = relay.inbox()
    assert b"Status: 5.6.7" in dsn


def test_a_remote_sender_gets_the_dsn_by_relay_from_the_null_sender(relay: Relay) -> None:
    script = Script(rcpt_replies={"gone@remote.test": "550 5.1.1 unknown"})
    with SmtpSink(relay.port, script) as sink:
        queue_id = relay.send("gone@remote.test", sender="carol@other.test")
        drive(queue_id)
    (dsn,) = sink.messages  # remote.test refused; the DSN went to other.test's MX
    assert dsn.mail_from == "<>" and dsn.rcpt_tos == ["carol@other.test"]  # aiosmtpd shows <>
    assert b"Status: 5.1.1" in dsn.data and b"report-type=delivery-status" in dsn.data
    assert relay.message(queue_id).state == "failed"
