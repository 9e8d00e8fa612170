"""Inbound sender authentication: SPF, DKIM and DMARC, and the Authentication-Results header.

``authenticate_message`` checks one received message and returns ``AuthResults``, whose
``header()`` is the ``Authentication-Results:`` field (RFC 8601) to record. SPF (RFC 7208)
is pyspf, the reference implementation, on the MAIL FROM identity (``postmaster@HELO``
when MAIL FROM is empty); DKIM (RFC 6376) is dkimpy, one result per signature; DMARC
(RFC 7489) is evaluated here, with the organizational domain from the Public Suffix List
(``publicsuffixlist``); ARC (RFC 8617) chains are validated by ``mailrs.inbound.arc``.
DMARC policy is reported here; ``dmarc_enforce`` and the route stage act on it.

Every DNS query goes through the given dnspython resolver (``mx.make_resolver``), each
with a timeout, and all of them share one time budget; a DNS failure gives
``temperror``, never an exception.
"""

from __future__ import annotations

import contextvars
import ipaddress
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.headerregistry import Address
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from functools import cache
from typing import Any

import dkim
import dns.exception
import dns.name
import dns.resolver
import spf
from publicsuffixlist import PublicSuffixList

from mailrs.inbound.arc import ArcResult, check_arc
from mailrs.inbound.authresults import comment, quote
from mailrs.inbound.dns_lookup import DnsTemporaryError, Lookup

DEFAULT_BUDGET_SECS = 20.0  # RFC 7208 section 4.6.4 suggests at least 20 s for SPF
MAX_SIGNATURES = 5  # DKIM signatures verified per message; further ones are "neutral"
HEAD_LIMIT = 256 * 1024
POLICIES = ("none", "quarantine", "reject")


@dataclass(frozen=True)
class SpfResult:
    """The SPF verdict for the checked identity."""

    result: str  # pass | fail | softfail | neutral | none | temperror | permerror
    identity: str  # "mailfrom" or "helo"
    sender: str  # the address checked (postmaster@HELO when MAIL FROM is empty)
    domain: str  # its domain, the SPF-authenticated identifier for DMARC
    reason: str = ""


@dataclass(frozen=True)
class DkimResult:
    """The verdict for one DKIM-Signature."""

    result: str  # pass | fail | neutral | temperror | permerror
    domain: str  # d=
    selector: str  # s=
    signature: str = ""  # the first characters of b= (RFC 6008 header.b)
    reason: str = ""


@dataclass(frozen=True)
class DmarcResult:
    """The DMARC verdict for the header From domain and the policy it asks for."""

    result: str  # pass | fail | none | temperror | permerror
    from_domain: str
    policy: str = ""  # the policy that applies: none | quarantine | reject ("" without record)
    record_domain: str = ""  # where the record was found
    percent: int = 100
    spf_aligned: bool = False
    dkim_aligned: bool = False
    reason: str = ""
    record: str = ""  # the record's tags as read ("v=DMARC1; p=reject; rua=..."), for reports


@dataclass(frozen=True)
class AuthResults:
    """Everything checked for one message; ``header()`` records it."""

    authserv_id: str
    spf: SpfResult
    dkim: tuple[DkimResult, ...]
    dmarc: DmarcResult
    from_domain: str
    arc: ArcResult = ArcResult("none")

    @property
    def dkim_result(self) -> str:
        """One word for all signatures: pass if any passed, else the first one's, else none."""
        if any(sig.result == "pass" for sig in self.dkim):
            return "pass"
        return self.dkim[0].result if self.dkim else "none"

    def value(self) -> str:
        """The field body: ``authserv-id; spf=...; dkim=...; arc=...; dmarc=...`` (RFC 8601)."""
        parts = [quote(self.authserv_id)]
        s = self.spf
        checked = s.domain if s.identity == "helo" else s.sender  # smtp.helo is the name
        parts.append(f"spf={s.result}{comment(s.reason)} smtp.{s.identity}={quote(checked)}")
        if not self.dkim:
            parts.append("dkim=none")
        for sig in self.dkim:
            text = f"dkim={sig.result}{comment(sig.reason)} header.d={quote(sig.domain)}"
            if sig.selector:
                text += f" header.s={quote(sig.selector)}"
            if sig.signature:
                text += f" header.b={quote(sig.signature)}"
            parts.append(text)
        parts.append(f"arc={self.arc.result}{comment(self.arc.comment_text())}")
        d = self.dmarc
        note = d.reason
        if d.policy:
            note = f"p={d.policy} dis=none" + (f" pct={d.percent}" if d.percent != 100 else "")
            note += f"; {d.reason}" if d.reason else ""
        text = f"dmarc={d.result}{comment(note)}"
        if d.from_domain:
            text += f" header.from={quote(d.from_domain)}"
        parts.append(text)
        return ";\r\n\t".join(parts)

    def header(self) -> str:
        """The whole field, folded, CRLF-terminated, ready to prepend to the message."""
        return f"Authentication-Results: {self.value()}\r\n"


def authenticate_message(
    data: bytes,
    *,
    client_ip: str,
    helo: str,
    mail_from: str,
    resolver: dns.resolver.Resolver,
    authserv_id: str,
    budget_secs: float = DEFAULT_BUDGET_SECS,
) -> AuthResults:
    """Check SPF, DKIM and DMARC of one received message; never raises for DNS trouble."""
    lookup = Lookup.with_budget(resolver, budget_secs)
    spf_result = check_spf(lookup, client_ip, helo, mail_from)
    dkim_results = check_dkim(lookup, data)
    from_domain, from_error = header_from_domain(data)
    dmarc_result = check_dmarc(lookup, from_domain, from_error, spf_result, dkim_results)
    arc_result = check_arc(lookup, data)
    return AuthResults(authserv_id, spf_result, dkim_results, dmarc_result, from_domain, arc_result)


# --- SPF ---------------------------------------------------------------------------------

_spf_lookup: contextvars.ContextVar[Lookup | None] = contextvars.ContextVar(
    "mailrs_spf_lookup", default=None
)
_library_lookup = spf.DNSLookup


def _spf_dns(name: str, qtype: str, strict: Any = True, timeout: float = 20) -> list[Any]:
    """pyspf's DNS hook, answered by the resolver of the check running in this context."""
    lookup = _spf_lookup.get()
    if lookup is None:  # pyspf used elsewhere in the process: its own lookup
        return _library_lookup(name, qtype, strict, timeout)  # type: ignore[no-any-return]
    if qtype not in ("A", "AAAA", "MX", "PTR", "TXT"):
        return []
    try:
        rdatas = lookup.records(name, qtype)
    except DnsTemporaryError as exc:
        raise spf.TempError(str(exc)) from None
    key = (name, qtype)
    if qtype in ("A", "AAAA"):
        return [(key, r.address) for r in rdatas]
    if qtype == "MX":
        return [(key, (r.preference, r.exchange)) for r in rdatas]
    if qtype == "PTR":
        return [(key, r.target.to_text(True)) for r in rdatas]
    return [(key, r.strings) for r in rdatas]


# pyspf looks names up through this module-level hook (its own tests replace it the same
# way); ours answers from the resolver of the current check and defers to the library's
# lookup outside one.
spf.DNSLookup = _spf_dns


@contextmanager
def _spf_resolver(lookup: Lookup) -> Iterator[None]:
    token = _spf_lookup.set(lookup)
    try:
        yield
    finally:
        _spf_lookup.reset(token)


def check_spf(lookup: Lookup, client_ip: str, helo: str, mail_from: str) -> SpfResult:
    """RFC 7208 check_host() for MAIL FROM, or for the HELO name when MAIL FROM is empty."""
    helo = helo.strip().rstrip(".")
    if mail_from:
        identity, sender = "mailfrom", mail_from
    else:
        identity, sender = "helo", f"postmaster@{helo}" if helo else ""
    domain = sender.rpartition("@")[2].lower().rstrip(".")
    try:
        ipaddress.ip_address(client_ip)
    except ValueError:
        return SpfResult("none", identity, sender, domain, "no client IP address")
    if not domain or "@" not in sender:
        return SpfResult("none", identity, sender, domain, "no domain to check")
    budget = lookup.remaining()
    if budget <= 0:
        return SpfResult("temperror", identity, sender, domain, "time budget spent")
    try:
        with _spf_resolver(lookup):
            query = spf.query(client_ip, sender, helo or domain, timeout=budget, querytime=budget)
            result, _code, explanation = query.check()
    except Exception as exc:  # pyspf should not raise; a bad input must not stop the mail
        return SpfResult("permerror", identity, sender, domain, f"SPF evaluation failed: {exc}")
    return SpfResult(str(result), identity, sender, domain, str(explanation))


# --- DKIM --------------------------------------------------------------------------------

_SIG_TAG = re.compile(rb"(?:^|;)\s*([dsb])\s*=\s*([^;]*)")


def check_dkim(lookup: Lookup, data: bytes) -> tuple[DkimResult, ...]:
    """One result per DKIM-Signature (top first); () when the message has none."""
    try:
        verifier = dkim.DKIM(data, minkey=1024)
    except Exception as exc:  # dkimpy cannot even split the message
        return (DkimResult("permerror", "", "", reason=f"message unparsable: {exc}"),)
    signatures = [v for k, v in verifier.headers if k.lower() == b"dkim-signature"]
    results = []
    for idx, raw in enumerate(signatures):
        domain, selector, sig_b = _signature_tags(raw)
        if idx >= MAX_SIGNATURES:
            results.append(DkimResult("neutral", domain, selector, sig_b, "not checked"))
            continue
        result, reason = _verify_one(lookup, data, idx)
        results.append(DkimResult(result, domain, selector, sig_b, reason))
    return tuple(results)


def _signature_tags(raw: bytes) -> tuple[str, str, str]:
    """d=, s= and the first 8 characters of b= of a raw DKIM-Signature value."""
    tags = {
        m.group(1).decode(): re.sub(rb"\s+", b"", m.group(2)).decode("ascii", "replace")
        for m in _SIG_TAG.finditer(raw)
    }
    return tags.get("d", "").lower(), tags.get("s", ""), tags.get("b", "")[:8]


def _verify_one(lookup: Lookup, data: bytes, idx: int) -> tuple[str, str]:
    """(result, reason) for signature ``idx``."""
    verifier = dkim.DKIM(data, minkey=1024)
    try:
        prep = verifier.verify_headerprep(idx)
    except dkim.DKIMException as exc:
        return "permerror", f"bad signature: {exc}"
    if not prep:
        return "permerror", "signature not found"
    sig, include_headers, sigheaders = prep
    name = sig[b"s"] + b"._domainkey." + sig[b"d"] + b"."
    try:
        records = lookup.txt(name.decode("ascii", "replace"))
    except DnsTemporaryError as exc:
        return "temperror", str(exc)
    if not records:
        return "permerror", "no key for signature"
    if len(records) > 1:
        return "permerror", "more than one key record"
    dnsfunc: Callable[..., bytes] = lambda _name, timeout=5: records[0]  # noqa: E731
    try:
        dkim.load_pk_from_dns(name, dnsfunc)
    except (dkim.DKIMException, ValueError) as exc:
        return "permerror", f"bad key: {exc}"
    try:
        good = verifier.verify_sig(sig, include_headers, sigheaders[idx], dnsfunc)
    except dkim.ValidationError as exc:  # e.g. body hash mismatch
        return "fail", str(exc)
    except dkim.DKIMException as exc:
        return "permerror", str(exc)
    except Exception as exc:  # e.g. an unsupported key type deep in the crypto library
        return "permerror", f"cannot verify: {exc}"
    if good:
        return "pass", ""
    return "fail", "signature did not verify"


# --- DMARC -------------------------------------------------------------------------------


@cache
def _public_suffixes() -> PublicSuffixList:
    return PublicSuffixList()


def organizational_domain(domain: str) -> str:
    """The registered domain of ``domain`` by the Public Suffix List (RFC 7489 section 3.2)."""
    domain = domain.lower().rstrip(".")
    return _public_suffixes().privatesuffix(domain) or domain


def aligned(domain: str, from_domain: str, mode: str) -> bool:
    """Identifier alignment: ``s`` strict (equal), ``r`` relaxed (same organizational domain)."""
    domain, from_domain = domain.lower().rstrip("."), from_domain.lower().rstrip(".")
    if not domain or not from_domain:
        return False
    if mode == "s":
        return domain == from_domain
    return organizational_domain(domain) == organizational_domain(from_domain)


def header_from_domain(data: bytes) -> tuple[str, str]:
    """(domain of the header From, "" ) or ("", why there is no single one)."""
    try:
        msg = BytesHeaderParser(policy=default_policy).parsebytes(data[:HEAD_LIMIT])
        fields = msg.get_all("From") or []
        if len(fields) != 1:
            return "", "no From field" if not fields else "more than one From field"
        addresses: tuple[Address, ...] = fields[0].addresses
    except Exception as exc:
        return "", f"unparsable From: {exc}"
    domains = {a.domain.lower().rstrip(".") for a in addresses if a.domain}
    if len(domains) != 1:
        return "", "no From domain" if not domains else "From addresses in several domains"
    return domains.pop(), ""


def parse_dmarc_record(text: str) -> dict[str, str] | None:
    """The tags of a DMARC record (names lower-cased), or None unless it starts v=DMARC1."""
    tags: dict[str, str] = {}
    for part in text.split(";"):
        name, sep, value = part.partition("=")
        if sep:  # anything that is not a tag is ignored
            tags.setdefault(name.strip().lower(), value.strip())
        elif not tags and part.strip():
            return None
    if next(iter(tags), "") != "v" or tags["v"] != "DMARC1":
        return None
    return tags


def check_dmarc(
    lookup: Lookup,
    from_domain: str,
    from_error: str,
    spf_result: SpfResult,
    dkim_results: tuple[DkimResult, ...],
) -> DmarcResult:
    """RFC 7489 section 6.6: find the policy, check alignment, report the verdict."""
    if not from_domain:
        return DmarcResult("permerror", "", reason=from_error)
    org = organizational_domain(from_domain)
    try:
        tags, record_domain = _find_record(lookup, from_domain, org)
    except DnsTemporaryError as exc:
        return DmarcResult("temperror", from_domain, reason=str(exc))
    if tags is None:
        return DmarcResult("none", from_domain, reason="no DMARC record")
    policy = tags.get("p", "").lower()
    if record_domain != from_domain and tags.get("sp", "").lower() in POLICIES:
        policy = tags["sp"].lower()
    if policy not in POLICIES:
        if not tags.get("rua"):
            return DmarcResult("none", from_domain, reason="DMARC record without a valid p=")
        policy = "none"  # section 6.6.3 step 6: act as if p=none
    percent = _percent(tags.get("pct", "100"))
    spf_ok = spf_result.result == "pass" and aligned(
        spf_result.domain, from_domain, tags.get("aspf", "r").lower()
    )
    dkim_ok = any(
        sig.result == "pass" and aligned(sig.domain, from_domain, tags.get("adkim", "r").lower())
        for sig in dkim_results
    )
    result = "pass" if spf_ok or dkim_ok else "fail"
    reason = ""
    if result == "fail":
        reason = "neither SPF nor DKIM passed aligned with the From domain"
    record = "; ".join(f"{name}={value}" for name, value in tags.items())
    return DmarcResult(
        result, from_domain, policy, record_domain, percent, spf_ok, dkim_ok, reason, record
    )


def _find_record(lookup: Lookup, domain: str, org: str) -> tuple[dict[str, str] | None, str]:
    """The DMARC record of the domain, else of its organizational domain."""
    for where in dict.fromkeys((domain, org)):
        records = [
            tags
            for txt in lookup.txt(f"_dmarc.{where}")
            if (tags := parse_dmarc_record(txt.decode("utf-8", "replace"))) is not None
        ]
        if len(records) == 1:
            return records[0], where
        if records:  # several: section 6.6.3 says DMARC does not apply
            return None, ""
    return None, ""


def _percent(text: str) -> int:
    try:
        return max(0, min(100, int(text)))
    except ValueError:
        return 100
