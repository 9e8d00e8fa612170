"""Inbound SPF, DKIM and DMARC (mailrs.inbound.authcheck) against a real DNS server on loopback.

One DNS server per module answers from the zone below; the DKIM key is made here for the
run (nothing secret lives in the repo). Every Authentication-Results value is parsed back
with the ``authres`` library.
"""

from __future__ import annotations

import base64
import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import authres
import authres.dmarc
import dkim
import dns.resolver
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from support.dns import DnsServer

from mailrs.config import RelaySettings, Settings, SmtpSettings, SpamSettings, load_settings
from mailrs.inbound.authcheck import (
    AuthResults,
    authenticate_message,
    organizational_domain,
    parse_dmarc_record,
)
from mailrs.inbound.authresults import without_own_results
from mailrs.inbound.spam import SpamEnvelope
from mailrs.inbound.spam.heuristics import HeuristicFilter
from mailrs.outbound.mx import make_resolver

GOOD_IP = "192.0.2.10"
OTHER_IP = "198.51.100.7"
AUTHSERV = "mx.ours.test"


def _txt(text: str) -> str:
    """A TXT rdata in zone syntax, split into 200-character strings."""
    return " ".join(f'"{text[i : i + 200]}"' for i in range(0, len(text), 200))


def _zone(public_key_b64: str) -> list[str]:
    many = " ".join(f"a:h{n}.many.test" for n in range(1, 12))
    ten = " ".join(f"a:h{n}.many.test" for n in range(1, 11))
    zone = [
        f"pass.test TXT {_txt('v=spf1 ip4:192.0.2.0/24 -all')}",
        f"_dmarc.pass.test TXT {_txt('v=DMARC1; p=quarantine')}",
        f"soft.test TXT {_txt('v=spf1 ip4:192.0.2.1 ~all')}",
        f"neutral.test TXT {_txt('v=spf1 ?all')}",
        "nospf.test A 192.0.2.1",
        f"bad.test TXT {_txt('v=spf1 ip4:192.0.2.300 -all')}",
        f"unknown.test TXT {_txt('v=spf1 frobnicate:x.test -all')}",
        f"twice.test TXT {_txt('v=spf1 -all')}",
        f"twice.test TXT {_txt('v=spf1 +all')}",
        f"inc.test TXT {_txt('v=spf1 include:_spf.other.test -all')}",
        f"_spf.other.test TXT {_txt('v=spf1 ip4:203.0.113.0/24 ip6:2001:db8::/32 -all')}",
        f"redir.test TXT {_txt('v=spf1 redirect=_spf.other.test')}",
        f"amx.test TXT {_txt('v=spf1 a mx -all')}",
        "amx.test A 192.0.2.20",
        "amx.test MX 10 mail.amx.test.",
        "mail.amx.test A 192.0.2.21",
        f"many.test TXT {_txt(f'v=spf1 {many} -all')}",
        f"ten.test TXT {_txt(f'v=spf1 {ten} -all')}",
        f"void.test TXT {_txt('v=spf1 a:n1.void.test a:n2.void.test a:n3.void.test -all')}",
        f"helo.pass.test TXT {_txt('v=spf1 ip4:192.0.2.10 -all')}",
        f"signer.test TXT {_txt('v=spf1 -all')}",
        f"sel._domainkey.signer.test TXT {_txt(f'v=DKIM1; k=rsa; p={public_key_b64}')}",
        f"bad._domainkey.signer.test TXT {_txt('v=DKIM1; k=rsa; p=bm90IGEga2V5')}",
        f"_dmarc.signer.test TXT {_txt('v=DMARC1; p=reject; sp=quarantine')}",
        f"strict.test TXT {_txt('v=spf1 -all')}",
        f"_dmarc.strict.test TXT {_txt('v=DMARC1; p=reject; adkim=s; aspf=s')}",
        f"victim.test TXT {_txt('v=spf1 -all')}",
        f"_dmarc.victim.test TXT {_txt('v=DMARC1; p=reject; pct=50; rua=mailto:d@victim.test')}",
        f"_dmarc.weak.test TXT {_txt('v=DMARC1; p=bogus; rua=mailto:r@weak.test')}",
        f"_dmarc.broken.test TXT {_txt('v=DMARC1; p=bogus')}",
        f"_dmarc.double.test TXT {_txt('v=DMARC1; p=reject')}",
        f"_dmarc.double.test TXT {_txt('v=DMARC1; p=none')}",
        f"_dmarc.sub.pass.test TXT {_txt('v=DMARC1; p=reject')}",
        f"_dmarc.sub.pass.test TXT {_txt('v=DMARC1; p=quarantine')}",
        f"nodmarc.test TXT {_txt('v=spf1 ip4:192.0.2.0/24 -all')}",
        f"dmarcdown.test TXT {_txt('v=spf1 ip4:192.0.2.0/24 -all')}",
    ]
    zone += [f"h{n}.many.test A 10.0.0.{n}" for n in range(1, 12)]
    return zone


@pytest.fixture(scope="module")
def key() -> tuple[bytes, str]:
    """A fresh 2048-bit RSA key: (private PEM, public key base64 for the zone)."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    der = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return pem, base64.b64encode(der).decode()


@pytest.fixture(scope="module")
def dns_server(key: tuple[bytes, str]) -> Iterator[DnsServer]:
    servfail = ("down.test", "_dmarc.dmarcdown.test", "gone._domainkey.signer.test")
    with DnsServer(_zone(key[1]), servfail=servfail) as server:
        yield server


@pytest.fixture(scope="module")
def resolver(dns_server: DnsServer) -> dns.resolver.Resolver:
    return make_resolver(RelaySettings(dns_servers=(dns_server.address,), dns_timeout_secs=3.0))


def message(sender: str = "alice@pass.test", body: str = "Hello there.\r\n") -> bytes:
    return (
        f"From: Alice <{sender}>\r\nTo: bob@ours.test\r\nSubject: hello\r\n"
        f"Date: Tue, 24 Nov 2026 10:00:00 +0000\r\nMessage-ID: <1@{sender.split('@')[1]}>\r\n"
        f"\r\n{body}"
    ).encode()


def signed(data: bytes, pem: bytes, domain: str = "signer.test", selector: str = "sel") -> bytes:
    header = dkim.sign(
        data,
        selector.encode(),
        domain.encode(),
        pem,
        include_headers=[b"from", b"to", b"subject", b"date", b"message-id"],
    )
    return header + data


def check(
    resolver: dns.resolver.Resolver,
    data: bytes,
    mail_from: str = "alice@pass.test",
    ip: str = GOOD_IP,
    helo: str = "helo.pass.test",
) -> AuthResults:
    return authenticate_message(
        data, client_ip=ip, helo=helo, mail_from=mail_from, resolver=resolver, authserv_id=AUTHSERV
    )


def parsed(results: AuthResults) -> dict[str, list[authres.core.AuthenticationResult]]:
    """The header parsed back by authres (RFC 8601 syntax), results by method."""
    assert results.header().endswith("\r\n")
    assert "\n" not in results.header()[:-2].replace("\r\n\t", "")
    header = authres.FeatureContext(authres.dmarc).parse(results.header().rstrip("\r\n"))
    assert header.authserv_id == AUTHSERV
    by_method: dict[str, list[authres.core.AuthenticationResult]] = {}
    for result in header.results:
        by_method.setdefault(result.method, []).append(result)
    return by_method


def prop(result: authres.core.AuthenticationResult, ptype: str, name: str) -> str:
    return next(p.value for p in result.properties if p.type == ptype and p.name == name)


# --- SPF ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mail_from", "ip", "expected"),
    [
        ("alice@pass.test", GOOD_IP, "pass"),
        ("alice@pass.test", OTHER_IP, "fail"),
        ("alice@soft.test", OTHER_IP, "softfail"),
        ("alice@neutral.test", OTHER_IP, "neutral"),
        ("alice@nospf.test", GOOD_IP, "none"),
        ("alice@nowhere.test", GOOD_IP, "none"),
        ("alice@bad.test", GOOD_IP, "permerror"),
        ("alice@unknown.test", GOOD_IP, "permerror"),
        ("alice@twice.test", GOOD_IP, "permerror"),
        ("alice@down.test", GOOD_IP, "temperror"),
        ("alice@inc.test", "203.0.113.5", "pass"),
        ("alice@inc.test", GOOD_IP, "fail"),
        ("alice@inc.test", "2001:db8::25", "pass"),
        ("alice@redir.test", "203.0.113.5", "pass"),
        ("alice@redir.test", GOOD_IP, "fail"),
        ("alice@amx.test", "192.0.2.20", "pass"),
        ("alice@amx.test", "192.0.2.21", "pass"),
        ("alice@amx.test", "192.0.2.22", "fail"),
        ("alice@ten.test", "10.0.0.10", "pass"),
        ("alice@many.test", "10.0.0.11", "permerror"),
        ("alice@void.test", GOOD_IP, "permerror"),
    ],
)
def test_spf_results(resolver: dns.resolver.Resolver, mail_from: str, ip: str, expected: str):
    results = check(resolver, message(), mail_from=mail_from, ip=ip)
    assert results.spf.result == expected, results.spf
    assert results.spf.identity == "mailfrom"
    spf_result = parsed(results)["spf"][0]
    assert spf_result.result == expected
    assert prop(spf_result, "smtp", "mailfrom") == mail_from


def test_spf_ten_lookup_limit_is_what_fails(resolver: dns.resolver.Resolver):
    results = check(resolver, message(), mail_from="a@many.test", ip="10.0.0.11")
    assert "lookup" in results.spf.reason.lower()


def test_spf_checks_helo_when_mail_from_is_empty(resolver: dns.resolver.Resolver):
    results = check(resolver, message(), mail_from="", ip=GOOD_IP, helo="helo.pass.test")
    assert (results.spf.result, results.spf.identity) == ("pass", "helo")
    assert results.spf.domain == "helo.pass.test"
    assert results.spf.sender == "postmaster@helo.pass.test"
    assert prop(parsed(results)["spf"][0], "smtp", "helo") == "helo.pass.test"
    other = check(resolver, message(), mail_from="", ip=OTHER_IP, helo="helo.pass.test")
    assert other.spf.result == "fail"


def test_spf_bad_client_ip_or_helo_is_none_not_an_error(resolver: dns.resolver.Resolver):
    assert check(resolver, message(), ip="not-an-ip").spf.result == "none"
    assert check(resolver, message(), mail_from="", helo="").spf.result == "none"


def test_concurrent_checks_each_use_their_own_resolver(resolver: dns.resolver.Resolver):
    """pyspf's DNS hook is per check (a context variable), so threads never mix resolvers."""
    other_zone = [f"pass.test TXT {_txt('v=spf1 -all')}"]
    with DnsServer(other_zone) as other, ThreadPoolExecutor(8) as pool:
        strict = make_resolver(RelaySettings(dns_servers=(other.address,), dns_timeout_secs=3))
        jobs = [
            pool.submit(check, chosen, message()) for _ in range(8) for chosen in (resolver, strict)
        ]
        verdicts = [job.result().spf.result for job in jobs]
    assert verdicts == ["pass", "fail"] * 8


def test_dns_server_down_is_temperror_everywhere(key: tuple[bytes, str]):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    resolver = make_resolver(RelaySettings(dns_servers=(f"127.0.0.1:{port}",), dns_timeout_secs=1))
    data = signed(message("alice@signer.test"), key[0])
    results = check(resolver, data)
    assert results.spf.result == "temperror"
    assert [s.result for s in results.dkim] == ["temperror"]
    assert results.dmarc.result == "temperror"
    assert results.arc.result == "none"  # no ARC sets: nothing to look up
    by_method = parsed(results)
    assert {r.result for m, rs in by_method.items() if m != "arc" for r in rs} == {"temperror"}


def test_the_whole_check_is_bounded_by_its_budget(resolver: dns.resolver.Resolver, key):
    data = signed(message("alice@signer.test"), key[0])
    results = authenticate_message(
        data,
        client_ip=GOOD_IP,
        helo="x",
        mail_from="a@pass.test",
        resolver=resolver,
        authserv_id=AUTHSERV,
        budget_secs=0,
    )
    assert results.spf.result == "temperror"
    assert results.dkim[0].result == "temperror"
    assert results.dmarc.result == "temperror"


def test_a_silent_dns_server_gives_temperror_within_the_budget(key: tuple[bytes, str]):
    """Queries to a server that never answers time out; the shared budget ends the check."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))  # bound, never read: every query times out
        address = f"127.0.0.1:{silent.getsockname()[1]}"
        resolver = make_resolver(RelaySettings(dns_servers=(address,), dns_timeout_secs=0.5))
        results = authenticate_message(
            signed(message("alice@signer.test"), key[0]),
            client_ip=GOOD_IP,
            helo="helo.pass.test",
            mail_from="a@pass.test",
            resolver=resolver,
            authserv_id=AUTHSERV,
            budget_secs=1.0,
        )
    assert results.spf.result == "temperror"
    assert [s.result for s in results.dkim] == ["temperror"]
    assert results.dmarc.result == "temperror"


# --- DKIM --------------------------------------------------------------------------------


def test_dkim_pass(resolver: dns.resolver.Resolver, key: tuple[bytes, str]):
    results = check(resolver, signed(message("alice@signer.test"), key[0]))
    assert [(s.result, s.domain, s.selector) for s in results.dkim] == [
        ("pass", "signer.test", "sel")
    ]
    assert results.dkim_result == "pass"
    dkim_result = parsed(results)["dkim"][0]
    assert dkim_result.result == "pass"
    assert prop(dkim_result, "header", "d") == "signer.test"
    assert prop(dkim_result, "header", "s") == "sel"
    assert len(prop(dkim_result, "header", "b")) == 8


def test_dkim_altered_body_fails(resolver: dns.resolver.Resolver, key: tuple[bytes, str]):
    data = signed(message("alice@signer.test"), key[0]).replace(b"Hello there.", b"Hello THERE.")
    results = check(resolver, data)
    assert [s.result for s in results.dkim] == ["fail"]
    assert parsed(results)["dkim"][0].result == "fail"


def test_dkim_altered_header_fails(resolver: dns.resolver.Resolver, key: tuple[bytes, str]):
    data = signed(message("alice@signer.test"), key[0]).replace(b"Subject: hello", b"Subject: hi")
    assert check(resolver, data).dkim[0].result == "fail"


def test_no_signature_is_dkim_none(resolver: dns.resolver.Resolver):
    results = check(resolver, message())
    assert results.dkim == ()
    assert results.dkim_result == "none"
    assert parsed(results)["dkim"][0].result == "none"


@pytest.mark.parametrize(
    ("selector", "expected"),
    [("missing", "permerror"), ("bad", "permerror"), ("gone", "temperror")],
)
def test_dkim_key_problems(resolver, key: tuple[bytes, str], selector: str, expected: str):
    data = signed(message("alice@signer.test"), key[0], selector=selector)
    results = check(resolver, data)
    assert [(s.result, s.selector) for s in results.dkim] == [(expected, selector)]
    assert parsed(results)["dkim"][0].result == expected


def test_dkim_malformed_signature_is_permerror(resolver: dns.resolver.Resolver):
    data = b"DKIM-Signature: v=1; a=rsa-sha256; d=signer.test; garbage\r\n" + message()
    results = check(resolver, data)
    assert [(s.result, s.domain) for s in results.dkim] == [("permerror", "signer.test")]
    assert parsed(results)["dkim"][0].result == "permerror"


def test_each_signature_is_reported(resolver: dns.resolver.Resolver, key: tuple[bytes, str]):
    data = signed(signed(message("alice@signer.test"), key[0]), key[0], selector="missing")
    results = check(resolver, data)
    assert [(s.result, s.selector) for s in results.dkim] == [
        ("permerror", "missing"),
        ("pass", "sel"),
    ]
    assert results.dkim_result == "pass"
    assert [r.result for r in parsed(results)["dkim"]] == ["permerror", "pass"]


# --- DMARC -------------------------------------------------------------------------------


def test_dmarc_pass_by_aligned_dkim(resolver: dns.resolver.Resolver, key: tuple[bytes, str]):
    results = check(resolver, signed(message("alice@signer.test"), key[0]), ip=OTHER_IP)
    assert results.spf.result == "fail"
    assert (results.dmarc.result, results.dmarc.dkim_aligned) == ("pass", True)
    assert results.dmarc.policy == "reject"
    assert results.from_domain == "signer.test"
    dmarc_result = parsed(results)["dmarc"][0]
    assert dmarc_result.result == "pass"
    assert prop(dmarc_result, "header", "from") == "signer.test"


def test_dmarc_pass_by_aligned_spf(resolver: dns.resolver.Resolver):
    results = check(resolver, message("alice@pass.test"), mail_from="bounces@pass.test")
    assert (results.dmarc.result, results.dmarc.spf_aligned) == ("pass", True)
    assert results.dmarc.policy == "quarantine"


def test_dmarc_relaxed_alignment_and_subdomain_policy(resolver, key: tuple[bytes, str]):
    data = signed(message("news@sub.signer.test"), key[0])
    results = check(resolver, data, mail_from="x@sub.signer.test", ip=OTHER_IP)
    assert results.dmarc.result == "pass"
    assert results.dmarc.record_domain == "signer.test"
    assert results.dmarc.policy == "quarantine"  # sp= for a subdomain


def test_dmarc_strict_alignment(resolver: dns.resolver.Resolver, key: tuple[bytes, str]):
    data = signed(message("ceo@sub.strict.test"), key[0], domain="signer.test")
    results = check(resolver, data, mail_from="x@pass.test")
    assert results.dmarc.result == "fail"
    assert results.dmarc.record_domain == "strict.test"


def test_dmarc_unaligned_fails_and_reports_reject(resolver, key: tuple[bytes, str]):
    data = signed(message("ceo@victim.test"), key[0])  # signed by signer.test
    results = check(resolver, data, mail_from="bounces@pass.test")  # SPF passes for pass.test
    assert results.spf.result == "pass"
    assert results.dkim_result == "pass"
    assert results.dmarc.result == "fail"
    assert (results.dmarc.spf_aligned, results.dmarc.dkim_aligned) == (False, False)
    assert (results.dmarc.policy, results.dmarc.percent) == ("reject", 50)
    dmarc_result = parsed(results)["dmarc"][0]
    assert dmarc_result.result == "fail"
    assert "dmarc=fail (p=reject dis=none pct=50" in results.header()  # reported, not enforced
    assert prop(dmarc_result, "header", "from") == "victim.test"


def test_dmarc_without_record_is_none(resolver: dns.resolver.Resolver):
    results = check(resolver, message("alice@nodmarc.test"), mail_from="alice@nodmarc.test")
    assert results.spf.result == "pass"
    assert (results.dmarc.result, results.dmarc.policy) == ("none", "")
    assert parsed(results)["dmarc"][0].result == "none"


def test_dmarc_dns_failure_is_temperror(resolver: dns.resolver.Resolver):
    results = check(resolver, message("alice@dmarcdown.test"), mail_from="a@dmarcdown.test")
    assert results.dmarc.result == "temperror"
    assert parsed(results)["dmarc"][0].result == "temperror"


@pytest.mark.parametrize(
    "head",
    [
        b"To: bob@ours.test\r\nSubject: no from\r\n",
        b"From: a@pass.test\r\nFrom: b@pass.test\r\nSubject: two\r\n",
        b"From: a@pass.test, b@other.test\r\nSubject: two domains\r\n",
        b"From: undisclosed\r\nSubject: no domain\r\n",
        b"From: \xff\xfe<<@@>>\r\nSubject: junk\r\n",
    ],
)
def test_dmarc_without_a_single_from_domain_is_permerror(resolver, head: bytes):
    results = check(resolver, head + b"\r\nbody\r\n")
    assert results.dmarc.result == "permerror"
    assert results.from_domain == ""
    assert parsed(results)["dmarc"][0].result == "permerror"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("v=DMARC1; p=reject", {"v": "DMARC1", "p": "reject"}),
        ("v = DMARC1 ;P=none; junk", {"v": "DMARC1", "p": "none"}),
        ("p=reject; v=DMARC1", None),
        ("v=DMARC2; p=reject", None),
        ("v=spf1 -all", None),
        ("", None),
    ],
)
def test_parse_dmarc_record(text: str, expected: dict[str, str] | None):
    assert parse_dmarc_record(text) == expected


def test_dmarc_record_without_valid_policy(resolver, key: tuple[bytes, str]):
    """p= missing: with rua= it acts as p=none (RFC 7489 section 6.6.3), without it as none."""
    results = check(resolver, message("a@weak.test"), mail_from="a@pass.test")
    assert (results.dmarc.result, results.dmarc.policy) == ("fail", "none")
    results = check(resolver, message("a@broken.test"), mail_from="a@pass.test")
    assert (results.dmarc.result, results.dmarc.policy) == ("none", "")
    results = check(resolver, message("a@double.test"), mail_from="a@pass.test")
    assert results.dmarc.result == "none"  # two records count as none
    results = check(resolver, message("a@sub.pass.test"), mail_from="a@pass.test")
    assert (results.dmarc.result, results.dmarc.policy) == ("none", "")  # pass.test not asked


def test_organizational_domain_uses_the_public_suffix_list():
    assert organizational_domain("mail.example.co.uk") == "example.co.uk"
    assert organizational_domain("a.b.example.com") == "example.com"
    assert organizational_domain("sub.signer.test") == "signer.test"


# --- the header ----------------------------------------------------------------------------


def test_hostile_envelope_cannot_break_the_header(resolver: dns.resolver.Resolver):
    mail_from = 'x";dmarc=pass\r\nX-Evil: 1 (@pass.test'
    results = check(resolver, message(), mail_from=mail_from, helo="a\r\nb")
    header = results.header()
    assert "\r\nX-Evil" not in header
    by_method = parsed(results)
    assert set(by_method) == {"spf", "dkim", "arc", "dmarc"}
    assert len(by_method["dmarc"]) == 1


def test_header_shape(resolver: dns.resolver.Resolver, key: tuple[bytes, str]):
    results = check(resolver, signed(message("alice@signer.test"), key[0]))
    header = results.header()
    assert header.startswith(f"Authentication-Results: {AUTHSERV};\r\n\tspf=")
    assert results.value() == header[len("Authentication-Results: ") : -2]
    assert list(parsed(results)) == ["spf", "dkim", "arc", "dmarc"]


@pytest.mark.parametrize("newline", [b"\r\n", b"\n"])
def test_forged_results_with_our_id_are_removed(newline: bytes):
    head = [
        b"Authentication-Results: MX.ours.test;",
        b"\tdmarc=pass header.from=bank.test",
        b"Authentication-Results: relay.other.test; spf=pass smtp.mailfrom=a@b.test",
        b"From: a@bank.test",
        b'Authentication-Results: (forged) "mx.ours.test" ; dkim=pass',
        b"Subject: hi",
    ]
    body = [b"", b"Authentication-Results: mx.ours.test; in the body stays", b""]
    data = newline.join(head + body)
    cleaned = without_own_results(data, AUTHSERV)
    expected = [head[2], head[3], head[5]]
    assert cleaned == newline.join(expected + body)
    assert without_own_results(cleaned, AUTHSERV) == cleaned
    assert without_own_results(b"no header block at all", AUTHSERV) == b"no header block at all"


def test_recorded_header_is_kept_and_trusted_by_the_builtin_scorer(resolver, key):
    """Our field survives without_own_results and the built-in scorer counts its pass."""
    data = signed(message("alice@signer.test"), key[0])
    forged = b"Authentication-Results: mx.ours.test; dmarc=pass\r\n" + message("ceo@victim.test")
    settings = Settings(smtp=SmtpSettings(hostname=AUTHSERV), spam=SpamSettings())
    scorer = HeuristicFilter(settings)
    envelope = SpamEnvelope("q1", "a@pass.test", ("bob@ours.test",), GOOD_IP, "helo.pass.test")
    good = check(resolver, data)
    stamped = good.header().encode() + without_own_results(data, AUTHSERV)
    assert {"DKIM_PASS", "DMARC_PASS"} <= set(scorer.check(stamped, envelope).symbols)
    bad = check(resolver, without_own_results(forged, AUTHSERV), mail_from="a@pass.test")
    restamped = bad.header().encode() + without_own_results(forged, AUTHSERV)
    symbols = set(scorer.check(restamped, envelope).symbols)
    assert "DMARC_FAIL" in symbols and "DMARC_PASS" not in symbols


# --- configuration -------------------------------------------------------------------------


def test_check_sender_auth_setting(tmp_path: Path):
    config = tmp_path / "mailrs.toml"
    config.write_text("")
    assert load_settings(config, environ={}).spam.check_sender_auth is True
    env = {"MAILRS_SPAM_CHECK_SENDER_AUTH": "false"}
    assert load_settings(config, environ=env).spam.check_sender_auth is False
    config.write_text("[spam]\ncheck_sender_auth = false\n")
    assert load_settings(config, environ={}).spam.check_sender_auth is False


def test_ed25519_signatures_verify_beside_rsa(key: tuple[bytes, str]) -> None:
    """RFC 8463: an Ed25519 signature verifies on its own and next to an RSA one."""
    ed_key = ed25519.Ed25519PrivateKey.generate()
    seed = ed_key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    public = ed_key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    ed_record = f"v=DKIM1; k=ed25519; p={base64.b64encode(public).decode()}"
    zone = [
        f"rsa._domainkey.both.test TXT {_txt(f'v=DKIM1; k=rsa; p={key[1]}')}",
        f"ed._domainkey.both.test TXT {_txt(ed_record)}",
        f"_dmarc.both.test TXT {_txt('v=DMARC1; p=reject; adkim=s')}",
    ]
    data = message("alice@both.test")
    headers = [b"from", b"to", b"subject", b"date", b"message-id"]
    by_ed = dkim.sign(
        data,
        b"ed",
        b"both.test",
        base64.b64encode(seed),
        signature_algorithm=b"ed25519-sha256",
        include_headers=headers,
    )
    by_rsa = dkim.sign(data, b"rsa", b"both.test", key[0], include_headers=headers)
    with DnsServer(zone) as server:
        both = make_resolver(RelaySettings(dns_servers=(server.address,), dns_timeout_secs=3))
        only_ed = check(both, by_ed + data, mail_from="alice@both.test", ip=OTHER_IP)
        assert [(r.selector, r.result) for r in only_ed.dkim] == [("ed", "pass")]
        assert only_ed.dmarc.result == "pass" and only_ed.dmarc.dkim_aligned
        pair = check(both, by_ed + by_rsa + data, mail_from="alice@both.test", ip=OTHER_IP)
        assert [(r.selector, r.result) for r in pair.dkim] == [("ed", "pass"), ("rsa", "pass")]
        changed = (by_ed + by_rsa + data).replace(b"Hello there.", b"Hello, there.")
        broken = check(both, changed, mail_from="alice@both.test", ip=OTHER_IP)
        assert [r.result for r in broken.dkim] == ["fail", "fail"]
        assert broken.dmarc.result == "fail"
