"""The DNS records a domain needs, and the MTA-STS policy file we serve for it.

``domain_records`` lists them (MX, SPF, DKIM for each published selector, DMARC,
MTA-STS, TLS-RPT, the SRV records of RFC 6186/8314 and autodiscover, the autoconfig
name); ``zone_text`` writes them in zone-file form, which ``dns.zone.from_text`` reads
back. The MTA-STS ``id`` is a digest of the policy text, so it changes with the policy.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from mailrs.accounts.endpoints import endpoints
from mailrs.config import Settings
from mailrs.outbound.dkim_keys import ED25519, RSA, dns_selector, public_key_text

TTL = 3600
TXT_CHUNK = 250  # a TXT string holds at most 255 bytes; long keys are split
ADDRESS_HINT = "<its public IPv4 address> (or an AAAA record with its IPv6 address)"


@dataclass(frozen=True)
class Record:
    """One record: the owner name relative to the domain (``@`` for the apex), or absolute
    (ending in a dot) for a name outside it, such as the mail host."""

    name: str
    type: str
    value: str  # rdata in zone-file syntax (TXT strings quoted)
    purpose: str

    def fqdn(self, domain: str) -> str:
        """The absolute owner name, with a final dot."""
        if self.name.endswith("."):
            return self.name
        return f"{domain}." if self.name == "@" else f"{self.name}.{domain}."


def quote_txt(text: str) -> str:
    """``text`` as one or more quoted TXT strings of at most 250 bytes."""
    chunks = [text[i : i + TXT_CHUNK] for i in range(0, len(text), TXT_CHUNK)] or [""]
    return " ".join('"' + c.replace("\\", "\\\\").replace('"', '\\"') + '"' for c in chunks)


def mta_sts_policy(settings: Settings) -> str:
    """The policy file served at ``https://mta-sts.<domain>/.well-known/mta-sts.txt``."""
    public = settings.public
    lines = [
        "version: STSv1",
        f"mode: {public.mta_sts_mode}",
        f"mx: {endpoints(settings).mail_host}",
        f"max_age: {public.mta_sts_max_age}",
    ]
    return "\r\n".join(lines) + "\r\n"


def mta_sts_id(settings: Settings) -> str:
    """The ``id`` of the ``_mta-sts`` TXT record: changes whenever the policy does."""
    return hashlib.sha256(mta_sts_policy(settings).encode()).hexdigest()[:20]


def dkim_records(settings: Settings, domain: str, selector: str, purpose: str) -> list[Record]:
    """The two DKIM TXT records (RSA and Ed25519) of one selector."""
    return [
        Record(
            f"{dns_selector(selector, kind)}._domainkey",
            "TXT",
            quote_txt(public_key_text(settings, domain, selector, kind)),
            f"{purpose} ({kind})",
        )
        for kind in (RSA, ED25519)
    ]


def domain_records(
    settings: Settings, domain: str, selectors: list[tuple[str, str]]
) -> list[Record]:
    """Every record to publish for ``domain``; ``selectors`` are (selector, purpose) pairs."""
    ends = endpoints(settings)
    mail, web = f"{ends.mail_host}.", f"{ends.web_host}."
    report = f"mailto:postmaster@{domain}"
    records = [
        Record("@", "MX", f"10 {mail}", "mail for the domain goes to our SMTP server"),
        Record("@", "TXT", quote_txt("v=spf1 mx -all"), "SPF: only the MX hosts send"),
    ]
    for selector, purpose in selectors:
        records += dkim_records(settings, domain, selector, purpose)
    policy = settings.public.dmarc_policy
    records += [
        Record("_dmarc", "TXT", quote_txt(f"v=DMARC1; p={policy}; rua={report}"), "DMARC"),
        Record("_mta-sts", "TXT", quote_txt(f"v=STSv1; id={mta_sts_id(settings)}"), "MTA-STS"),
        Record("mta-sts", "CNAME", web, "serves the MTA-STS policy file over HTTPS"),
        Record("_smtp._tls", "TXT", quote_txt(f"v=TLSRPTv1; rua={report}"), "TLS-RPT"),
        Record("_imaps._tcp", "SRV", f"0 1 {ends.imaps_port} {mail}", "IMAP over TLS"),
        Record("_submission._tcp", "SRV", f"0 1 {ends.submission_port} {mail}", "submission"),
        Record("_submissions._tcp", "SRV", f"0 1 {ends.submissions_port} {mail}", "submissions"),
        Record("_autodiscover._tcp", "SRV", f"0 1 {ends.https_port} {web}", "Outlook set-up"),
        Record("autoconfig", "CNAME", web, "Thunderbird set-up"),
    ]
    return records


def host_records(settings: Settings) -> list[Record]:
    """The address records the MX host (and a separate web host) must have.

    Their addresses are the operator's to give, so they are checked, never printed as
    zone lines: ``value`` only says what belongs there; an A or an AAAA record will do.
    """
    ends = endpoints(settings)
    records = [
        Record(f"{ends.mail_host}.", "A", ADDRESS_HINT, "the MX host needs an IPv4/IPv6 address")
    ]
    if ends.web_host != ends.mail_host:
        records.append(
            Record(f"{ends.web_host}.", "A", ADDRESS_HINT, "the web host needs an address")
        )
    return records


def zone_text(domain: str, records: list[Record]) -> str:
    """The records in zone-file form, each with a comment saying what it is for."""
    lines = [f"$ORIGIN {domain}.", f"$TTL {TTL}"]
    for record in records:
        lines.append(f"; {record.purpose}")
        lines.append(f"{record.name}\tIN\t{record.type}\t{record.value}")
    return "\n".join(lines) + "\n"
