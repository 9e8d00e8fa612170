"""Which delivery status reports a message owes its sender, by each recipient's NOTIFY.

RFC 3461: a failure is reported unless the recipient asked NOTIFY without FAILURE (or
NEVER); a success (``delivered`` into a local mailbox, or ``relayed`` to a server that
cannot pass the request on) only when it asked SUCCESS; a delay warning only when it
asked DELAY or gave no NOTIFY. ``Delivery.dsn_sent`` marks a delivery whose report is
done: sent, not wanted, or handed on with the message to a next hop that speaks DSN.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mailrs.db.models import Delivery, Message, Recipient
from mailrs.queue.envelope_params import wants
from mailrs.queue.states import DONE, DeliveryState


def recipient_of(message: Message, delivery: Delivery) -> Recipient | None:
    """The envelope recipient a delivery came from (an alias may make several deliveries)."""
    return next((r for r in message.recipients if r.idx == delivery.rcpt_idx), None)


def notify_of(message: Message, delivery: Delivery) -> str:
    """The NOTIFY the sender gave for this delivery's recipient ("" when none)."""
    rcpt = recipient_of(message, delivery)
    return rcpt.notify if rcpt is not None else ""


def orcpt_of(message: Message, delivery: Delivery) -> str:
    """The ORCPT the sender gave for this delivery's recipient ("" when none)."""
    rcpt = recipient_of(message, delivery)
    return rcpt.orcpt if rcpt is not None else ""


@dataclass
class Due:
    """The reports a message owes now."""

    failed: list[Delivery] = field(default_factory=list)  # to report as failed
    succeeded: list[Delivery] = field(default_factory=list)  # delivered / relayed, asked for
    silent: list[Delivery] = field(default_factory=list)  # failed, but NOTIFY says no report

    def __bool__(self) -> bool:
        return bool(self.failed or self.succeeded or self.silent)


def reports_due(message: Message) -> Due:
    """Failures and asked-for successes not yet reported (none to the null sender)."""
    due = Due()
    for delivery in message.deliveries:
        if delivery.dsn_sent:
            continue
        notify = notify_of(message, delivery)
        if delivery.state == DeliveryState.FAILED:
            wanted = message.mail_from != "" and wants(notify, "FAILURE")
            (due.failed if wanted else due.silent).append(delivery)
        elif delivery.state in DONE and message.mail_from and wants(notify, "SUCCESS"):
            due.succeeded.append(delivery)
    return due


def delay_wanted(message: Message, delivery: Delivery) -> bool:
    """Whether a deferred delivery's recipient wants to hear of the delay."""
    return wants(notify_of(message, delivery), "DELAY")
