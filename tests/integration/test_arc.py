"""ARC (RFC 8617): our chain validation and our seals, checked by dkimpy's own verifier.

A real DNS server on loopback publishes the keys; the relay stage sends to a real SMTP
sink. dkimpy's ``arc_verify`` (an independent reading of the seal, not our code path)
must accept every seal we add, and both it and our check must see a broken chain.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dkim
import dns.name
import dns.rdatatype
import dns.resolver
import pytest
from sqlalchemy.orm import Session
from support.dns import DnsServer
from support.pipeline import add_config, drive
from support.smtp_sink import SmtpSink
from test_relay import Relay, make_relay

from mailrs.accounts.aliases import add_alias
from mailrs.accounts.dns_records import dkim_records
from mailrs.accounts.domains import add_domain, domain_signing_keys
from mailrs.accounts.users import add_user
from mailrs.celery import configure
from mailrs.config import RelaySettings, Settings, load_settings
from mailrs.inbound.authcheck import AuthResults, authenticate_message
from mailrs.inbound.dmarc_results import disposition, trusted_forwarder
from mailrs.outbound.arc_seal import arc_seal
from mailrs.outbound.dkim_keys import SigningKey
from mailrs.outbound.mx import make_resolver
from mailrs.queue.accept import Envelope, accept_message
from mailrs.sieve.storage import put_script, set_active

ZONE = [
    "other.test MX 10 mx.other.test.",
    "mx.other.test A 127.0.0.1",
    'sender.test TXT "v=spf1 ip4:192.0.2.0/24 -all"',
    '_dmarc.sender.test TXT "v=DMARC1; p=none"',
    'strict.test TXT "v=spf1 -all"',
    '_dmarc.strict.test TXT "v=DMARC1; p=reject"',
]
pytestmark = pytest.mark.dns_zone(ZONE)
OUTSIDE_IP = "192.0.2.10"
MAIL = (
    b"From: Carol <carol@sender.test>\r\nTo: fwd@example.test\r\nSubject: forwarded\r\n"
    b"Date: Tue, 24 Nov 2026 10:00:00 +0000\r\nMessage-ID: <arc1@sender.test>\r\n\r\n"
    b"This message goes through an alias to another domain.\r\n"
)


@dataclass
class Published:
    """Keys of our domains, in the loopback DNS and as dkimpy's ``dnsfunc`` sees them."""

    server: DnsServer
    records: dict[bytes, bytes]

    def publish(self, settings: Settings, domain: str, selector: str) -> None:
        for record in dkim_records(settings, domain, selector, "DKIM"):
            name = f"{record.name}.{domain}."
            text = "".join(record.value.split('"')[1::2])
            self.records[name.encode()] = text.encode()
            chunks = " ".join(f'"{text[i : i + 200]}"' for i in range(0, len(text), 200))
            rdtypes = self.server.records[dns.name.from_text(name)]
            rdtypes[dns.rdatatype.TXT] = [chunks]  # the server lives for the module

    def txt(self, name: bytes, timeout: int = 5) -> bytes:
        return self.records.get(name, b"")


@pytest.fixture
def published(dns: DnsServer) -> Published:
    return Published(dns, {})


@pytest.fixture
def resolver(dns: DnsServer) -> dns.resolver.Resolver:
    return make_resolver(RelaySettings(dns_servers=(dns.address,), dns_timeout_secs=3.0))


def check(resolver: dns.resolver.Resolver, data: bytes, authserv: str) -> AuthResults:
    return authenticate_message(
        data,
        client_ip=OUTSIDE_IP,
        helo="mail.sender.test",
        mail_from="carol@sender.test",
        resolver=resolver,
        authserv_id=authserv,
    )


def test_alias_forward_to_a_remote_address_is_sealed_and_dkimpy_verifies_it(
    relay_env: Relay, published: Published, resolver: dns.resolver.Resolver
) -> None:
    env = relay_env
    with SmtpSink(env.port) as sink:
        queue_id = accept_message(
            env.db,
            env.spool,
            Envelope("carol@sender.test", ("fwd@example.test",), OUTSIDE_IP, "mail.sender.test"),
            MAIL,
        )
        drive(queue_id)
    (got,) = sink.messages
    assert got.rcpt_tos == ["bob@other.test"]
    head = got.data.split(b"\r\n\r\n", 1)[0]
    assert head.startswith(b"ARC-Seal: i=1; cv=none; a=rsa-sha256; d=example.test;")
    assert b"ARC-Message-Signature: i=1;" in head and b"ARC-Authentication-Results: i=1;" in head
    assert b"spf=pass" in head.split(b"ARC-Authentication-Results:", 1)[1][:400]
    cv, _results, reason = dkim.arc_verify(got.data, dnsfunc=published.txt)
    assert cv == dkim.CV_Pass, reason

    # the next hop (a second mailrs) sees a valid chain and seals on top of it: i=2, cv=pass
    second = check(resolver, got.data, "mx.next.test")
    assert second.arc.result == "pass" and second.arc.sealers == ("example.test",)
    assert "arc=pass (i=1 sealed by example.test)" in second.header()
    with env.db.session() as session:
        (key,) = [k for k in _keys(session, env) if k.algorithm == b"rsa-sha256"]
    resealed = arc_seal(second.header().encode() + got.data, key, "mx.next.test")
    assert resealed.startswith(b"ARC-Seal: i=2; cv=pass;")
    cv, _results, reason = dkim.arc_verify(resealed, dnsfunc=published.txt)
    assert cv == dkim.CV_Pass, reason
    assert check(resolver, resealed, "mx.third.test").arc.instances == 2


def test_a_broken_chain_is_detected_by_dkimpy_and_by_us(
    relay_env: Relay, resolver: dns.resolver.Resolver, published: Published
) -> None:
    env = relay_env
    with SmtpSink(env.port) as sink:
        queue_id = accept_message(
            env.db,
            env.spool,
            Envelope("carol@sender.test", ("fwd@example.test",), OUTSIDE_IP, "mail.sender.test"),
            MAIL,
        )
        drive(queue_id)
    (got,) = sink.messages
    assert check(resolver, got.data, "mx.next.test").arc.result == "pass"
    body_changed = got.data.replace(b"another domain", b"a forged domain")
    subject_changed = got.data.replace(b"Subject: forwarded", b"Subject: changed")
    seal_changed = got.data.replace(b"ARC-Seal: i=1; cv=none", b"ARC-Seal: i=1; cv=pass")
    for broken in (body_changed, subject_changed, seal_changed):
        cv, _results, _reason = dkim.arc_verify(broken, dnsfunc=published.txt)
        assert cv != dkim.CV_Pass
        ours = check(resolver, broken, "mx.next.test")
        assert ours.arc.result == "fail", ours.arc
        assert "arc=fail" in ours.header()
    # a message with no ARC sets at all has arc=none
    assert check(resolver, MAIL, "mx.next.test").arc.result == "none"


def test_arc_keys_unreachable_in_dns_is_a_temporary_error(tmp_path: Path) -> None:
    signed = b"ARC-Seal: i=1; cv=none; a=rsa-sha256; d=gone.test; s=x; t=1; b=AAAA\r\n" + MAIL
    with DnsServer([], servfail=("x._domainkey.gone.test",)) as server:
        resolver = make_resolver(RelaySettings(dns_servers=(server.address,), dns_timeout_secs=2))
        signed = (
            b"ARC-Authentication-Results: i=1; mx.gone.test; spf=pass\r\n"
            b"ARC-Message-Signature: i=1; a=rsa-sha256; c=relaxed/relaxed; d=gone.test; s=x;"
            b" t=1; h=from; bh=AAAA; b=AAAA\r\n" + signed
        )
        assert check(resolver, signed, "mx.next.test").arc.result == "temperror"


def test_mail_our_users_send_is_not_sealed(relay_env: Relay) -> None:
    env = relay_env
    with SmtpSink(env.port) as sink:
        data = MAIL.replace(b"carol@sender.test", b"alice@example.test")
        queue_id = accept_message(
            env.db,
            env.spool,
            Envelope(
                "alice@example.test", ("bob@other.test",), "127.0.0.1", "me", "alice@example.test"
            ),
            data,
        )
        drive(queue_id)
    (got,) = sink.messages
    assert b"ARC-Seal:" not in got.data and got.data.count(b"DKIM-Signature:") == 2


def _keys(session: Session, env: Relay) -> list[SigningKey]:
    return domain_signing_keys(session, env.settings, "example.test")


@pytest.fixture
def relay_env(tmp_path: Path, dns: DnsServer, published: Published) -> Iterator[Relay]:
    env = make_relay(tmp_path, dns)
    add_config(tmp_path / "mailrs.toml", "spam", check_sender_auth=True)
    env.settings = load_settings(tmp_path / "mailrs.toml", environ={})
    configure(env.settings)
    with env.db.session() as session:
        domain = add_domain(session, env.settings, "example.test")
        add_alias(session, "fwd@example.test", "bob@other.test")
        add_user(session, env.store, "dave@example.test", "dave password")
        session.commit()
        assert domain.dkim_selector
        published.publish(env.settings, "example.test", domain.dkim_selector)
    yield env
    env.db.dispose()


def test_a_sieve_redirect_to_a_remote_address_is_sealed(
    relay_env: Relay, published: Published
) -> None:
    env = relay_env
    with env.db.session() as session:
        put_script(session, "dave@example.test", "away", 'redirect "bob@other.test";\r\n')
        set_active(session, "dave@example.test", "away")
        session.commit()
    forged = b"Authentication-Results: mx.example.test; dmarc=pass\r\n"
    with SmtpSink(env.port) as sink:
        queue_id = accept_message(
            env.db,
            env.spool,
            Envelope("carol@sender.test", ("dave@example.test",), OUTSIDE_IP, "mail.sender.test"),
            forged + MAIL.replace(b"fwd@", b"dave@"),
        )
        drive(queue_id)
    (got,) = sink.messages
    assert got.rcpt_tos == ["bob@other.test"]
    assert got.data.startswith(b"ARC-Seal: i=1; cv=none; a=rsa-sha256; d=example.test;")
    assert b"X-Mailrs-Sieve-Redirected: dave@example.test" in got.data
    assert forged not in got.data  # the sender's forgery in our name did not travel
    cv, _results, reason = dkim.arc_verify(got.data, dnsfunc=published.txt)
    assert cv == dkim.CV_Pass, reason


def test_a_trusted_sealers_chain_waives_a_dmarc_failure(
    relay_env: Relay, resolver: dns.resolver.Resolver
) -> None:
    """A list forwarded by example.test breaks the author's SPF: the seal vouches for it."""
    data = MAIL.replace(b"carol@sender.test", b"carol@strict.test")
    arrived = check(resolver, data, "mx.example.test")
    with relay_env.db.session() as session:
        (key,) = [k for k in _keys(session, relay_env) if k.algorithm == b"rsa-sha256"]
    sealed = arc_seal(arrived.header().encode() + data, key, "mx.example.test")
    here = check(resolver, sealed, "mx.next.test")
    assert here.dmarc.result == "fail" and here.dmarc.policy == "reject"
    assert here.arc.result == "pass" and here.arc.sealers == ("example.test",)
    trusted = trusted_forwarder(here, ("example.test",))
    assert trusted and disposition(here.dmarc, True, trusted) == ("none", "trusted_forwarder")
    assert not trusted_forwarder(here, ("other.test",))
    assert disposition(here.dmarc, False, False) == ("quarantine", "local_policy")
