"""What the DMARC policy does to a received message, and the row our aggregate reports count.

``disposition`` decides, for a message the pipeline accepted, whether the From domain's
policy files it to Junk: a failure under ``p=quarantine`` (``pct`` sampled, RFC 7489
section 6.6.4), or under ``p=reject`` when smtpd did not refuse it (enforcement off:
our local policy; on: sampled out by ``pct``), unless a valid ARC chain sealed by one of
``spam.arc_trusted_sealers`` vouches for it. ``record_result`` keeps one
``dmarc_results`` row per evaluated message, refusals at the end of DATA included, for
``mailrs.outbound.dmarc_aggregate``.
"""

from __future__ import annotations

import random

from sqlalchemy.orm import Session

from mailrs.db.models import DmarcResult as ResultRow
from mailrs.inbound.authcheck import AuthResults, DmarcResult

QUARANTINE = "quarantine"
NONE = "none"
REJECT = "reject"


def sampled_in(percent: int) -> bool:
    """True when the policy applies to this message (``pct`` percent of them do)."""
    return percent >= 100 or random.randrange(100) < percent


def trusted_forwarder(results: AuthResults, sealers: tuple[str, ...]) -> bool:
    """A valid ARC chain whose newest seal is from a forwarder we trust (RFC 8617 7.2)."""
    arc = results.arc
    return arc.result == "pass" and bool(arc.sealers) and arc.sealers[0] in sealers


def disposition(dmarc: DmarcResult, enforcing: bool, forwarded: bool = False) -> tuple[str, str]:
    """(disposition, override reason) for a message we accepted (RFC 7489 appendix C).

    ``forwarded``: the chain of a trusted ARC sealer vouches for it; the policy is waived.
    """
    if dmarc.result != "fail" or dmarc.policy not in (QUARANTINE, REJECT):
        return NONE, ""
    if forwarded:
        return NONE, "trusted_forwarder"
    if dmarc.policy == REJECT:  # refused at the end of DATA unless sampled out or not enforced
        return QUARANTINE, "sampled_out" if enforcing else "local_policy"
    if not sampled_in(dmarc.percent):
        return NONE, "sampled_out"
    return QUARANTINE, ""


def record_result(
    session: Session,
    results: AuthResults,
    *,
    queue_id: str,
    source_ip: str,
    envelope_from: str,
    outcome: tuple[str, str],
) -> None:
    """Keep the evaluation for the aggregate report (only when the domain has a record)."""
    dmarc = results.dmarc
    if dmarc.result not in ("pass", "fail") or not dmarc.record_domain:
        return
    signatures = " ".join(
        f"d={sig.domain};s={sig.selector};r={sig.result}" for sig in results.dkim if sig.domain
    )
    spf = results.spf
    session.add(
        ResultRow(
            queue_id=queue_id,
            source_ip=source_ip[:64],
            header_from=dmarc.from_domain[:253],
            envelope_from=envelope_from.rpartition("@")[2].lower()[:253],
            policy_domain=dmarc.record_domain[:253],
            record=dmarc.record,
            disposition=outcome[0],
            dkim_aligned="pass" if dmarc.dkim_aligned else "fail",
            spf_aligned="pass" if dmarc.spf_aligned else "fail",
            override=outcome[1],
            dkim_results=signatures,
            spf_domain=spf.domain[:253],
            spf_scope="helo" if spf.identity == "helo" else "mfrom",
            spf_result=spf.result[:16],
        )
    )
