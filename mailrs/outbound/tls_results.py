"""Outbound TLS outcomes kept for TLS-RPT (RFC 8460): one row per SMTP session tried.

``TlsLog`` collects a relay run's sessions to one destination domain (under its
MTA-STS policy, or ``no-policy-found``); ``store_results`` adds them to the caller's
transaction. Results are ``success`` or a failure type of RFC 8460 4.3
(``starttls-not-supported``, ``certificate-host-mismatch``, ``certificate-expired``,
``certificate-not-trusted``, ``validation-failure``, ``sts-policy-fetch-error``, …).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from mailrs.db.models import TlsResult, utcnow
from mailrs.outbound.mta_sts import Policy


@dataclass(frozen=True)
class TlsEvent:
    """One session's TLS outcome."""

    mx_host: str
    receiving_ip: str
    result: str  # success, or a TLS-RPT failure type
    detail: str = ""


@dataclass
class TlsLog:
    """The TLS outcomes of one destination domain in one relay run."""

    domain: str
    policy: Policy | None = None
    events: list[TlsEvent] = field(default_factory=list)

    @property
    def policy_type(self) -> str:
        """``sts`` under a policy that is not ``none``, else ``no-policy-found``."""
        if self.policy is not None and self.policy.mode != "none":
            return "sts"
        return "no-policy-found"

    def success(self, mx_host: str, ip: str) -> None:
        """A session that negotiated TLS (verified, under a policy)."""
        self.events.append(TlsEvent(mx_host, ip, "success"))

    def failure(self, mx_host: str, ip: str, result: str, detail: str = "") -> None:
        """A session (or a policy lookup, with no host) that failed."""
        self.events.append(TlsEvent(mx_host, ip, result, detail[:500]))


def store_results(session: Session, log: TlsLog, now: dt.datetime | None = None) -> None:
    """Add a run's outcomes to ``session`` (uncommitted)."""
    now = now or utcnow()
    text = log.policy.text if log.policy is not None and log.policy_type == "sts" else ""
    for event in log.events:
        session.add(
            TlsResult(
                at=now,
                policy_domain=log.domain,
                policy_type=log.policy_type,
                policy_text=text,
                mx_host=event.mx_host[:255],
                receiving_ip=event.receiving_ip[:64],
                result=event.result[:40],
                detail=event.detail,
            )
        )
