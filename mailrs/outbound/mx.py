"""Where mail for a domain goes: MX lookup with dnspython (RFC 5321 section 5.1).

MX records in preference order, random order among equal preferences; no MX → the
domain itself (implicit MX, its A/AAAA records); a single MX of "." is a null MX
(RFC 7505: the domain accepts no mail) → permanent failure. The resolver's servers come
from ``relay.dns_servers`` (``IP`` or ``IP:port``), else the system's resolv.conf.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import dns.exception
import dns.name
import dns.nameserver
import dns.resolver

from mailrs.config import RelaySettings, dns_server_address


@dataclass(frozen=True)
class MailHost:
    """One host to try: its name (for logs and DSNs) and one address of it."""

    name: str
    address: str
    preference: int


class MxError(Exception):
    """The destination cannot be found; ``permanent`` says whether retrying can help."""

    def __init__(self, message: str, status: str, permanent: bool) -> None:
        super().__init__(message)
        self.status = status
        self.permanent = permanent


def make_resolver(relay: RelaySettings) -> dns.resolver.Resolver:
    """A resolver for the configured servers (the system's when none are configured)."""
    if not relay.dns_servers:
        resolver = dns.resolver.Resolver()
    else:
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = [
            dns.nameserver.Do53Nameserver(*dns_server_address(server))
            for server in relay.dns_servers
        ]
    resolver.lifetime = relay.dns_timeout_secs
    resolver.timeout = min(relay.dns_timeout_secs, 5.0)
    return resolver


def order_exchanges(
    records: list[tuple[int, str]], rng: random.Random | None = None
) -> list[tuple[int, str]]:
    """Sort MX (preference, host) pairs by preference, shuffled among equal preferences."""
    rng = rng or random.Random()
    keyed = [(pref, rng.random(), host) for pref, host in records]
    return [(pref, host) for pref, _, host in sorted(keyed)]


def mail_hosts(
    resolver: dns.resolver.Resolver, domain: str, rng: random.Random | None = None
) -> list[MailHost]:
    """The hosts to try for ``domain``, in order; raises MxError when there are none."""
    try:
        answer = resolver.resolve(domain, "MX")
        records = [(int(r.preference), r.exchange.to_text(omit_final_dot=True)) for r in answer]
    except dns.resolver.NXDOMAIN:
        raise MxError(f"domain {domain} does not exist", "5.1.2", permanent=True) from None
    except dns.resolver.NoAnswer:
        records = []
    except (dns.exception.Timeout, dns.resolver.NoNameservers, dns.resolver.YXDOMAIN) as exc:
        raise MxError(f"DNS lookup of {domain} MX failed: {exc}", "4.4.3", False) from None
    except dns.exception.DNSException as exc:
        raise MxError(f"DNS lookup of {domain} MX failed: {exc}", "4.4.3", False) from None
    if any(host in ("", ".") for _, host in records):
        if len(records) == 1:
            raise MxError(f"{domain} accepts no mail (null MX)", "5.1.10", permanent=True)
        records = [(p, h) for p, h in records if h not in ("", ".")]
    implicit = not records
    if implicit:
        records = [(0, domain)]
    hosts: list[MailHost] = []
    trouble = ""
    for preference, name in order_exchanges(records, rng):
        try:
            addresses = _addresses(resolver, name)
        except MxError as exc:
            trouble = str(exc)
            if exc.permanent and implicit:
                raise MxError(f"{domain} has no MX and no address", "5.1.2", True) from None
            continue
        hosts.extend(MailHost(name, address, preference) for address in addresses)
    if not hosts:
        if implicit:
            raise MxError(f"{domain} has no MX and no address", "5.1.2", permanent=True)
        raise MxError(trouble or f"no address for any MX of {domain}", "4.4.3", permanent=False)
    return hosts


def _addresses(resolver: dns.resolver.Resolver, name: str) -> list[str]:
    """IPv4 then IPv6 addresses of a host; MxError(permanent) if it has none."""
    found: list[str] = []
    temporary = ""
    for rdtype in ("A", "AAAA"):
        try:
            found.extend(r.to_text() for r in resolver.resolve(name, rdtype))
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            continue
        except dns.exception.DNSException as exc:
            temporary = str(exc)
    if not found:
        if temporary:
            raise MxError(f"DNS lookup of {name} failed: {temporary}", "4.4.3", False)
        raise MxError(f"host {name} has no address", "5.1.2", permanent=True)
    return found
