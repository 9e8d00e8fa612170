"""DNS for the inbound checks: one resolver, one time budget shared by every query of a check.

SPF, DKIM, DMARC and ARC of one message all look names up through one ``Lookup``;
a failure that may go away (timeout, SERVFAIL, budget spent) is ``DnsTemporaryError``
(the check's ``temperror``), a name that does not exist is simply no records.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import dns.exception
import dns.name
import dns.resolver


class DnsTemporaryError(Exception):
    """A lookup failed for a reason that may go away (timeout, SERVFAIL, budget spent)."""


@dataclass
class Lookup:
    """DNS through one resolver, with a deadline shared by every query of one check."""

    resolver: dns.resolver.Resolver
    deadline: float
    cache: dict[tuple[str, str], list[Any]] = field(default_factory=dict)

    @classmethod
    def with_budget(cls, resolver: dns.resolver.Resolver, budget_secs: float) -> Lookup:
        """A lookup whose queries must all be done within ``budget_secs`` from now."""
        return cls(resolver, time.monotonic() + budget_secs)

    def remaining(self) -> float:
        """Seconds left of the budget."""
        return self.deadline - time.monotonic()

    def records(self, name: str, rdtype: str) -> list[Any]:
        """The rdatas of ``name``/``rdtype``; [] for NXDOMAIN or no data."""
        key = (name.lower().rstrip("."), rdtype)
        if key in self.cache:
            return self.cache[key]
        left = min(self.remaining(), self.resolver.lifetime)
        if left <= 0:
            raise DnsTemporaryError("time budget for DNS lookups spent")
        try:
            answer = self.resolver.resolve(
                dns.name.from_text(key[0]), rdtype, lifetime=left, search=False
            )
            found: list[Any] = list(answer)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            found = []
        except (
            dns.name.NameTooLong,
            dns.name.LabelTooLong,
            dns.name.EmptyLabel,
            dns.name.IDNAException,
        ):
            found = []  # a name that cannot exist has no records
        except dns.exception.DNSException as exc:
            raise DnsTemporaryError(f"DNS lookup of {key[0]} {rdtype} failed: {exc}") from None
        self.cache[key] = found
        return found

    def txt(self, name: str) -> list[bytes]:
        """Each TXT record of ``name``, its strings joined."""
        return [b"".join(r.strings) for r in self.records(name, "TXT")]
