"""``mailrs domain check``: ask DNS for each record a domain needs and say what is wrong.

Each expected record (``mailrs.accounts.dns_records``) is looked up with the resolver
of ``[relay] dns_servers``; the answer is compared by meaning, not by text: the MX host
must be among the exchanges, DKIM keys must match ours, an SRV must point at our host
and port, the SPF record must let the MX hosts send, and so on.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import dns.exception
import dns.name
import dns.resolver

from mailrs.accounts.dns_records import Record

OK, MISSING, WRONG = "ok", "missing", "wrong"


@dataclass(frozen=True)
class Finding:
    """The verdict on one expected record."""

    record: Record
    state: str  # ok | missing | wrong
    detail: str = ""


def _tags(text: str) -> dict[str, str]:
    """``k=v; k=v`` tags (DKIM, DMARC, MTA-STS, TLS-RPT) as a dict."""
    tags = {}
    for part in text.split(";"):
        key, sep, value = part.partition("=")
        if sep:
            tags[key.strip().lower()] = "".join(value.split())
    return tags


def _expected_txt(record: Record) -> str:
    """The text of an expected TXT record (its quoted strings joined)."""
    return "".join(part for i, part in enumerate(record.value.split('"')) if i % 2)


def _lookup(resolver: dns.resolver.Resolver, name: str, rdtype: str) -> list[str] | None:
    """The answers as text (TXT strings joined); None when the name or type has none."""
    try:
        answer = resolver.resolve(name, rdtype)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return None
    if rdtype == "TXT":
        return [b"".join(r.strings).decode("utf-8", "replace") for r in answer]
    return [r.to_text() for r in answer]


def _same_host(a: str, b: str) -> bool:
    return dns.name.from_text(a) == dns.name.from_text(b)


def _judge_txt(record: Record, found: list[str]) -> Finding:
    expected = _expected_txt(record)
    version = expected.split(";")[0].split()[0].lower()
    matching = [t for t in found if t.lower().startswith(version)]
    if not matching:
        return Finding(record, MISSING, f"no {version} record among {found}")
    if len(matching) > 1:
        return Finding(record, WRONG, f"{len(matching)} {version} records; keep one")
    text = matching[0]
    if version == "v=spf1":
        terms = text.lower().split()
        if not ({"mx", "+mx"} & set(terms)) and not any(t.startswith("include:") for t in terms):
            return Finding(record, WRONG, f"SPF does not allow the MX hosts: {text!r}")
        return Finding(record, OK)
    want, have = _tags(expected), _tags(text)
    keys = {"v=dkim1": ("k", "p"), "v=stsv1": ("id",), "v=dmarc1": ("p",)}.get(version, ())
    for key in keys:
        if have.get(key) != want.get(key):
            return Finding(record, WRONG, f"{key}={have.get(key)!r}, expected {want.get(key)!r}")
    if version == "v=tlsrptv1" and "rua" not in have:
        return Finding(record, WRONG, "no rua= address for reports")
    return Finding(record, OK)


def _judge_address(resolver: dns.resolver.Resolver, record: Record, name: str) -> Finding:
    """A host needs an A or AAAA record, and not only loopback or unspecified ones."""
    found = (_lookup(resolver, name, "A") or []) + (_lookup(resolver, name, "AAAA") or [])
    if not found:
        return Finding(record, MISSING, "no A or AAAA record")
    usable = [
        a for a in found if not (ipaddress.ip_address(a).is_loopback or a in ("0.0.0.0", "::"))
    ]
    if not usable:
        return Finding(record, WRONG, f"only {', '.join(found)}: not reachable from elsewhere")
    return Finding(record, OK, ", ".join(found))


def judge(resolver: dns.resolver.Resolver, domain: str, record: Record) -> Finding:
    """Look one expected record up and compare."""
    name = record.fqdn(domain)
    if record.type == "A":
        return _judge_address(resolver, record, name)
    found = _lookup(resolver, name, record.type)
    # An address record in place of the CNAME works as well.
    if (
        record.type == "CNAME"
        and found is None
        and (_lookup(resolver, name, "A") or _lookup(resolver, name, "AAAA"))
    ):
        return Finding(record, OK, "address records instead of a CNAME")
    if found is None:
        return Finding(record, MISSING)
    if record.type == "TXT":
        return _judge_txt(record, found)
    if record.type == "MX":
        host = record.value.split()[1]
        if any(_same_host(f.split()[1], host) for f in found):
            return Finding(record, OK)
        return Finding(record, WRONG, f"MX is {', '.join(found)}; expected {host}")
    if record.type == "SRV":
        port, target = record.value.split()[2:]
        for f in found:
            parts = f.split()
            if parts[2] == port and _same_host(parts[3], target):
                return Finding(record, OK)
        return Finding(record, WRONG, f"found {', '.join(found)}; expected port {port} {target}")
    if record.type == "CNAME":
        if any(_same_host(f, record.value) for f in found):
            return Finding(record, OK)
        return Finding(record, WRONG, f"points at {', '.join(found)}; expected {record.value}")
    return Finding(record, OK) if record.value in found else Finding(record, WRONG, str(found))


def check_records(
    resolver: dns.resolver.Resolver, domain: str, records: list[Record]
) -> list[Finding]:
    """The verdict on every expected record; a DNS failure counts as missing, with its reason."""
    findings = []
    for record in records:
        try:
            findings.append(judge(resolver, domain, record))
        except dns.exception.DNSException as exc:
            findings.append(Finding(record, MISSING, f"DNS error: {type(exc).__name__}"))
    return findings
