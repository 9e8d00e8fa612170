"""Recipient policy as a pure function: who may receive mail through this server."""

from __future__ import annotations

from dataclasses import dataclass

from smtpd import replies


@dataclass(frozen=True)
class RecipientFacts:
    """What the lookups found out about one RCPT TO address."""

    well_formed: bool
    local_domain: bool
    local_user: bool
    authenticated: bool


def recipient_decision(facts: RecipientFacts) -> str:
    """The reply to a RCPT TO: accept local users; relay only for authenticated senders."""
    if not facts.well_formed:
        return replies.BAD_ADDRESS_SYNTAX
    if facts.local_domain:
        return replies.OK_RCPT if facts.local_user else replies.NO_SUCH_USER
    return replies.RELAY_DENIED
