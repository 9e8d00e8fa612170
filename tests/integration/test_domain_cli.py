"""``mailrs domain``: records printed and parsed back, ``check`` against a loopback DNS
server (complete and broken zones), DKIM with both keys verified from DNS, rotation."""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path

import dkim
import dns.rdatatype
import dns.resolver
import dns.zone
import pytest
from support.config import write_config
from support.dns import DnsServer
from support.processes import mailrs_argv, service_env

from mailrs.accounts.domains import domain_signing_keys
from mailrs.config import load_settings
from mailrs.db.engine import Database
from mailrs.db.migrate import upgrade
from mailrs.outbound.dkim_sign import dkim_sign
from mailrs.outbound.mx import make_resolver

DOMAIN = "example.com"
MESSAGE = (
    b"From: Alice <alice@example.com>\r\nTo: bob@remote.test\r\nSubject: signed twice\r\n"
    b"Date: Mon, 07 Dec 2026 03:00:00 +0000\r\nMessage-ID: <1@example.com>\r\n\r\n"
    b"Hello Bob.\r\n"
)


def run(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``mailrs ARGS --config CONFIG`` as a child process."""
    return subprocess.run(
        mailrs_argv(*args, "--config", str(config)),
        env=service_env(config),
        cwd=config.parent,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """A migrated installation whose public mail host is mail.example.com."""
    path = write_config(tmp_path)
    path.write_text(
        path.read_text().replace('hostname = "mx.example.test"', 'hostname = "mail.example.com"')
    )
    upgrade(load_settings(path, environ={}).database_url)
    return path


def with_dns(config: Path, server: DnsServer) -> None:
    """Point ``[relay] dns_servers`` at the loopback DNS server."""
    config.write_text(config.read_text() + f'[relay]\ndns_servers = ["{server.address}"]\n')


def zone_lines(text: str) -> list[str]:
    """The printed zone as ``name TYPE rdata`` lines for DnsServer."""
    zone = dns.zone.from_text(text, check_origin=False, relativize=False)
    lines = []
    for name, rdataset in zone.iterate_rdatasets():
        for rdata in rdataset:
            lines.append(f"{name} {dns.rdatatype.to_text(rdataset.rdtype)} {rdata.to_text()}")
    return lines


def test_add_prints_a_zone_that_parses_back_and_keys_are_private(config: Path) -> None:
    result = run(config, "domain", "add", "Example.COM")
    assert result.returncode == 0, result.stderr
    zone = dns.zone.from_text(result.stdout, check_origin=False)
    types = {
        (str(name), dns.rdatatype.to_text(rds.rdtype)) for name, rds in zone.iterate_rdatasets()
    }
    selector = next(str(n) for n, _ in types if str(n).endswith("-rsa._domainkey"))
    base = selector.removesuffix("-rsa._domainkey")
    for expected in [
        ("@", "MX"),
        ("@", "TXT"),
        (f"{base}-rsa._domainkey", "TXT"),
        (f"{base}-ed25519._domainkey", "TXT"),
        ("_dmarc", "TXT"),
        ("_mta-sts", "TXT"),
        ("mta-sts", "CNAME"),
        ("_smtp._tls", "TXT"),
        ("_imaps._tcp", "SRV"),
        ("_submission._tcp", "SRV"),
        ("_submissions._tcp", "SRV"),
        ("_autodiscover._tcp", "SRV"),
        ("autoconfig", "CNAME"),
    ]:
        assert expected in types, expected
    mx = zone.find_rdataset("@", "MX")[0]
    assert mx.exchange.derelativize(zone.origin).to_text() == "mail.example.com."
    rsa_txt = b"".join(zone.find_rdataset(f"{base}-rsa._domainkey", "TXT")[0].strings)
    assert rsa_txt.startswith(b"v=DKIM1; k=rsa; p=") and len(rsa_txt) > 300  # 2048-bit
    ed_txt = b"".join(zone.find_rdataset(f"{base}-ed25519._domainkey", "TXT")[0].strings)
    assert ed_txt.startswith(b"v=DKIM1; k=ed25519; p=")
    keys = config.parent / "data" / "dkim" / DOMAIN
    for kind in ("rsa", "ed25519"):
        mode = (keys / f"{base}.{kind}.pem").stat().st_mode
        assert stat.S_IMODE(mode) == 0o600
    assert stat.S_IMODE(keys.stat().st_mode) == 0o700
    listed = run(config, "domain", "list")
    assert listed.returncode == 0 and f"{DOMAIN}\tusers=0\tdkim={base}" in listed.stdout


def test_check_passes_on_a_complete_zone_and_names_what_is_wrong_in_a_broken_one(
    config: Path,
) -> None:
    added = run(config, "domain", "add", DOMAIN)
    assert added.returncode == 0, added.stderr
    assert "; the MX host needs an IPv4/IPv6 address: mail.example.com. IN A / AAAA" in added.stdout
    lines = zone_lines(added.stdout)
    with DnsServer([*lines, "mail.example.com. AAAA 2001:db8::25"]) as server:
        with_dns(config, server)
        good = run(config, "domain", "check", DOMAIN)
        assert good.returncode == 0, good.stdout + good.stderr
        assert "all 14 records are in place" in good.stdout
        assert "OK      A     mail.example.com." in good.stdout  # an AAAA alone will do
        assert "MISSING" not in good.stdout and "WRONG" not in good.stdout
    with DnsServer(lines) as server:  # everything but the MX host's address
        config.write_text(config.read_text().rsplit("[relay]", 1)[0])
        with_dns(config, server)
        no_address = run(config, "domain", "check", DOMAIN)
    assert no_address.returncode == 1
    assert "MISSING A     mail.example.com.  (the MX host needs an IPv4/IPv6 address)" in (
        no_address.stdout
    )
    assert "1 of 14 records missing or wrong" in no_address.stderr
    broken = [
        line
        for line in lines
        if "-ed25519._domainkey" not in line  # a DKIM key not published
        and not line.startswith("_submissions._tcp")
    ]
    broken = [
        line.replace("10 mail.example.com.", "10 mx.elsewhere.test.")
        .replace('"v=spf1 mx -all"', '"v=spf1 -all"')
        .replace("v=STSv1; id=", "v=STSv1; id=old")
        for line in broken
    ] + ["mail.example.com. A 127.0.0.1"]  # an address only this machine can reach
    with DnsServer(broken) as server:
        config.write_text(config.read_text().rsplit("[relay]", 1)[0])
        with_dns(config, server)
        bad = run(config, "domain", "check", DOMAIN)
    assert bad.returncode == 1
    out = bad.stdout
    assert "MISSING TXT   mr" in out and "-ed25519._domainkey.example.com." in out
    assert "MISSING SRV   _submissions._tcp.example.com." in out
    assert "WRONG   MX    example.com." in out and "mx.elsewhere.test" in out
    assert "SPF does not allow the MX hosts" in out
    assert "WRONG   TXT   _mta-sts.example.com." in out
    assert "OK      TXT   _dmarc.example.com." in out
    assert "WRONG   A     mail.example.com." in out and "not reachable from elsewhere" in out
    assert "6 of 14 records missing or wrong" in bad.stderr


def _verify_all(message: bytes, resolver: dns.resolver.Resolver) -> list[bytes]:
    """Verify every DKIM-Signature against DNS; returns the algorithm of each that passes."""

    def txt(name: bytes, timeout: int = 5) -> bytes | None:
        try:
            answer = resolver.resolve(name.decode().rstrip("."), "TXT")
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return None
        return b"".join(answer[0].strings)

    checker = dkim.DKIM(message)
    count = sum(1 for line in message.split(b"\r\n") if line.startswith(b"DKIM-Signature:"))
    algorithms = []
    for index in range(count):
        assert checker.verify(idx=index, dnsfunc=txt), f"signature {index} fails"
        algorithms.append(checker.signature_fields[b"a"])
    return algorithms


def test_mail_is_signed_with_rsa_and_ed25519_and_verifies_from_dns(config: Path) -> None:
    added = run(config, "domain", "add", DOMAIN)
    assert added.returncode == 0, added.stderr
    with DnsServer(zone_lines(added.stdout)) as server:
        with_dns(config, server)
        settings = load_settings(config, environ={})
        db = Database.from_settings(settings)
        with db.session() as session:
            keys = domain_signing_keys(session, settings, DOMAIN)
        db.dispose()
        assert {k.algorithm for k in keys} == {b"rsa-sha256", b"ed25519-sha256"}
        signed = dkim_sign(settings, "alice@example.com", MESSAGE, keys)
        assert signed.endswith(MESSAGE)
        algorithms = _verify_all(signed, make_resolver(settings.relay))
        assert sorted(algorithms) == [b"ed25519-sha256", b"rsa-sha256"]
        # a tampered body fails (dkim.verify checks the first signature)
        tampered = signed.replace(b"Hello Bob.", b"Hello Eve.")
        resolver = make_resolver(settings.relay)
        assert not dkim.verify(tampered, dnsfunc=lambda n, timeout=5: _txt(resolver, n))


def _txt(resolver: dns.resolver.Resolver, name: bytes) -> bytes | None:
    answer = resolver.resolve(name.decode().rstrip("."), "TXT")
    return b"".join(answer[0].strings)


def test_rotation_publishes_then_switches_then_retires(config: Path) -> None:
    added = run(config, "domain", "add", DOMAIN)
    assert added.returncode == 0, added.stderr
    first = zone_lines(added.stdout)
    old = next(line.split("-rsa.")[0] for line in first if "-rsa._domainkey" in line)
    started = run(config, "domain", "rotate-dkim", DOMAIN)
    assert started.returncode == 0, started.stderr
    new_lines = zone_lines(started.stdout)
    new = next(line.split("-rsa.")[0] for line in new_lines if "-rsa._domainkey" in line)
    assert new != old and len(new_lines) == 2
    settings = load_settings(config, environ={})
    db = Database.from_settings(settings)

    def signing_selectors() -> set[str]:
        with db.session() as session:
            return {k.selector for k in domain_signing_keys(session, settings, DOMAIN)}

    assert signing_selectors() == {f"{old}-rsa", f"{old}-ed25519"}  # still the old key
    with DnsServer(first) as server:  # the new keys are not in DNS yet
        with_dns(config, server)
        early = run(config, "domain", "rotate-dkim", DOMAIN, "--activate")
        assert early.returncode == 1 and "DNS does not show the new keys" in early.stderr
        assert len(early.stderr.strip().splitlines()) == 1
    with DnsServer(first + new_lines) as server:
        config.write_text(config.read_text().rsplit("[relay]", 1)[0])
        with_dns(config, server)
        activated = run(config, "domain", "rotate-dkim", DOMAIN, "--activate")
        assert activated.returncode == 0, activated.stderr
        settings = load_settings(config, environ={})
        assert signing_selectors() == {f"{new}-rsa", f"{new}-ed25519"}
        with db.session() as session:
            keys = domain_signing_keys(session, settings, DOMAIN)
        signed = dkim_sign(settings, "alice@example.com", MESSAGE, keys)
        assert len(_verify_all(signed, make_resolver(settings.relay))) == 2
    records = run(config, "domain", "records", DOMAIN)
    assert f"{old}-rsa._domainkey" in records.stdout  # old key still published
    retired = run(config, "domain", "rotate-dkim", DOMAIN, "--retire")
    assert retired.returncode == 0, retired.stderr
    assert not (config.parent / "data" / "dkim" / DOMAIN / f"{old}.rsa.pem").exists()
    records = run(config, "domain", "records", DOMAIN)
    assert f"{old}-rsa._domainkey" not in records.stdout
    assert f"{new}-rsa._domainkey" in records.stdout
    db.dispose()


def test_remove_refuses_a_domain_with_users_and_unknown_domains_are_one_line(
    config: Path,
) -> None:
    assert run(config, "domain", "add", DOMAIN).returncode == 0
    settings = load_settings(config, environ={})
    db = Database.from_settings(settings)
    from mailrs.accounts.users import add_user
    from mailrs.store.maildir import MaildirStore

    with db.session() as session:
        add_user(session, MaildirStore(settings.maildir_path), "al@example.com", "long password 1")
    db.dispose()
    refused = run(config, "domain", "remove", DOMAIN, "--yes")
    assert refused.returncode == 1 and "still has 1 user(s)" in refused.stderr
    unknown = run(config, "domain", "check", "nowhere.test")
    assert unknown.returncode == 1
    assert unknown.stderr.strip() == (
        "Error: no domain nowhere.test; run 'mailrs domain add nowhere.test' first"
    )
    assert run(config, "domain", "add", "other.test").returncode == 0
    removed = run(config, "domain", "remove", "other.test", "--yes")
    assert removed.returncode == 0
    assert not (config.parent / "data" / "dkim" / "other.test").exists()
    assert "other.test" not in run(config, "domain", "list").stdout
