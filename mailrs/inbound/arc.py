"""ARC chain validation of received mail (RFC 8617 section 5.2), with dkimpy.

The result goes into our ``Authentication-Results:`` field as ``arc=`` (pass, fail or
none) so that, when we forward the message, our own seal carries the chain's status
on (``mailrs.outbound.arc_seal``). Keys are looked up through the check's ``Lookup``:
a DNS failure gives ``temperror``, never an exception.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import dkim

from mailrs.inbound.dns_lookup import DnsTemporaryError, Lookup

MAX_ARC_BYTES = 64 * 1024 * 1024
_DOMAIN_TAG = re.compile(rb"(?:^|;)\s*d\s*=\s*([^;\s]+)")


@dataclass(frozen=True)
class ArcResult:
    """The chain validation status (cv) of the ARC sets a message arrived with."""

    result: str  # pass | fail | none | temperror
    instances: int = 0  # how many ARC sets the message carries
    sealers: tuple[str, ...] = ()  # d= of each ARC-Seal, newest first
    reason: str = ""

    def comment_text(self) -> str:
        """What the Authentication-Results comment says about the chain."""
        if self.result == "pass":
            return f"i={self.instances} sealed by {', '.join(self.sealers)}"
        return self.reason


def check_arc(lookup: Lookup, data: bytes) -> ArcResult:
    """Validate the ARC chain of ``data``; ``none`` when it has no ARC header fields."""
    temporary: list[str] = []

    def dnsfunc(name: bytes, timeout: float = 5) -> bytes:
        try:
            records = lookup.txt(name.decode("ascii", "replace"))
        except DnsTemporaryError as exc:
            temporary.append(str(exc))
            raise dkim.KeyFormatError(str(exc)) from None
        return records[0] if len(records) == 1 else b""

    try:
        verifier = dkim.ARC(data[:MAX_ARC_BYTES], minkey=1024)
        instances, headers = verifier.sorted_arc_headers()
        if instances == 0:
            return ArcResult("none")
        cv, _details, reason = verifier.verify(dnsfunc=dnsfunc)
    except dkim.DKIMException as exc:
        cv, reason = dkim.CV_Fail, str(exc)
    except Exception as exc:  # a message dkimpy cannot take apart is a broken chain
        return ArcResult("fail", reason=f"unreadable ARC header fields: {exc}")
    if temporary:
        return ArcResult("temperror", instances, reason=temporary[0])
    sealers = tuple(
        m.group(1).decode("ascii", "replace").lower()
        for _i, (name, value) in headers
        if name.lower() == b"arc-seal" and (m := _DOMAIN_TAG.search(value))
    )
    if cv == dkim.CV_Pass:
        return ArcResult("pass", instances, sealers)
    return ArcResult("fail", instances, sealers, str(reason))
