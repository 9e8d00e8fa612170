"""MTA-STS (RFC 8461) for outbound mail: find a domain's policy, fetch it over HTTPS, apply it.

The ``_mta-sts.<domain>`` TXT record (exactly one ``v=STSv1; id=…``) says a policy exists;
the policy file comes from ``https://mta-sts.<domain>/.well-known/mta-sts.txt`` with a
certificate valid for that name (system roots plus ``relay.tls_ca_file``), no redirects,
at most 64 KiB. The host name is resolved with the relay's resolver (``relay.dns_servers``)
so that the whole lookup goes where MX lookups go. ``mailrs.outbound.sts_cache`` keeps
fetched policies for their ``max_age``; ``workers.relay`` applies them: in ``enforce``
mode only MX hosts the policy names, over verified TLS; ``testing`` only reports.
"""

from __future__ import annotations

import http.client
import socket
import ssl
from dataclasses import dataclass

import dns.exception
import dns.resolver

from mailrs.tls import client_context

MAX_POLICY_BYTES = 64 * 1024
MAX_AGE_LIMIT = 31557600  # RFC 8461 3.2: at most one year
MODES = ("enforce", "testing", "none")
WELL_KNOWN = "/.well-known/mta-sts.txt"


class PolicyError(Exception):
    """A policy that cannot be had: ``kind`` is the TLS-RPT result type (RFC 8460 4.3.2)."""

    def __init__(self, message: str, kind: str = "sts-policy-fetch-error") -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class Policy:
    """One domain's MTA-STS policy."""

    domain: str
    id: str  # of the TXT record it was fetched for
    mode: str  # enforce | testing | none
    mx: tuple[str, ...]  # patterns: "mail.example.com" or "*.example.com"
    max_age: int
    text: str  # the policy file as served (TLS-RPT's policy-string)

    def matches(self, host: str) -> bool:
        """Whether an MX host name is one the policy allows (RFC 8461 4.1)."""
        name = host.rstrip(".").lower()
        for pattern in self.mx:
            if pattern.startswith("*."):
                head, _, rest = name.partition(".")
                if head and rest == pattern[2:]:
                    return True
            elif name == pattern:
                return True
        return False


def policy_id(resolver: dns.resolver.Resolver, domain: str) -> str | None:
    """The ``id`` of the domain's ``_mta-sts`` TXT record; None when there is no policy.

    Raises PolicyError (``sts-policy-fetch-error``) when DNS fails: a cached policy then
    still applies.
    """
    try:
        answer = resolver.resolve(f"_mta-sts.{domain}", "TXT")
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return None
    except dns.exception.DNSException as exc:
        raise PolicyError(f"DNS lookup of _mta-sts.{domain} failed: {exc}") from None
    records = [b"".join(r.strings).decode("ascii", "replace") for r in answer]
    records = [r for r in records if r.startswith("v=STSv1;")]
    if len(records) != 1:
        return None  # RFC 8461 3.1: none, or more than one, is no policy
    fields = dict(part.strip().partition("=")[::2] for part in records[0].split(";") if "=" in part)
    value = fields.get("id", "")
    if not (1 <= len(value) <= 32 and value.isalnum()):
        return None
    return value


def parse_policy(domain: str, record_id: str, text: str) -> Policy:
    """A policy from its file's text; PolicyError(``sts-policy-invalid``) when it is not one."""
    fields: dict[str, str] = {}
    mx: list[str] = []
    for line in text.splitlines():
        key, colon, value = line.partition(":")
        if not colon:
            continue
        key, value = key.strip(), value.strip()
        if key == "mx":
            mx.append(value.lower().rstrip("."))
        else:
            fields.setdefault(key, value)
    if fields.get("version") != "STSv1":
        raise PolicyError(f"{domain}: policy version is not STSv1", "sts-policy-invalid")
    mode = fields.get("mode", "")
    if mode not in MODES:
        raise PolicyError(f"{domain}: policy mode {mode!r} is unknown", "sts-policy-invalid")
    age = fields.get("max_age", "")
    if not age.isdigit() or len(age) > 10:
        raise PolicyError(f"{domain}: policy max_age {age!r} is not a number", "sts-policy-invalid")
    if mode != "none" and not mx:
        raise PolicyError(f"{domain}: policy names no mx", "sts-policy-invalid")
    return Policy(domain, record_id, mode, tuple(mx), min(int(age), MAX_AGE_LIMIT), text)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """HTTPS to one address we resolved ourselves, verified for the host name."""

    def __init__(
        self, host: str, address: str, port: int, context: ssl.SSLContext, timeout: float
    ) -> None:
        super().__init__(host, port, context=context, timeout=timeout)
        self._address = address
        self._tls = context

    def connect(self) -> None:
        """Connect to the resolved address; SNI and the certificate check use ``host``."""
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._tls.wrap_socket(sock, server_hostname=self.host)


def _addresses(resolver: dns.resolver.Resolver, host: str) -> list[str]:
    found: list[str] = []
    for rdtype in ("A", "AAAA"):
        try:
            found += [r.to_text() for r in resolver.resolve(host, rdtype)]
        except dns.exception.DNSException:
            continue
    return found


def fetch_policy_text(
    resolver: dns.resolver.Resolver,
    domain: str,
    port: int = 443,
    ca_file: str = "",
    timeout: float = 10.0,
) -> str:
    """The policy file of ``domain`` over verified HTTPS (blocking); PolicyError otherwise."""
    host = f"mta-sts.{domain}"
    addresses = _addresses(resolver, host)
    if not addresses:
        raise PolicyError(f"{host} has no address")
    context = client_context(verify=True, ca_file=ca_file)
    trouble = ""
    for address in addresses:
        conn = _PinnedHTTPS(host, address, port, context, timeout)
        try:
            conn.request("GET", WELL_KNOWN, headers={"Host": host, "Accept": "text/plain"})
            response = conn.getresponse()
            if response.status != 200:  # RFC 8461 3.3: redirects are not followed
                raise PolicyError(f"{host}: HTTP {response.status} for the policy")
            kind = response.getheader("Content-Type", "").split(";")[0].strip().lower()
            if kind != "text/plain":
                raise PolicyError(f"{host}: policy served as {kind or 'nothing'}, not text/plain")
            body = response.read(MAX_POLICY_BYTES + 1)
            if len(body) > MAX_POLICY_BYTES:
                raise PolicyError(f"{host}: policy larger than {MAX_POLICY_BYTES} bytes")
            return body.decode("utf-8", "replace")
        except ssl.SSLCertVerificationError as exc:
            raise PolicyError(
                f"{host}: certificate refused: {exc.verify_message}", "sts-webpki-invalid"
            ) from None
        except (OSError, http.client.HTTPException) as exc:
            trouble = f"{host}[{address}]: {exc}"
        finally:
            conn.close()
    raise PolicyError(f"cannot fetch the policy: {trouble}")
