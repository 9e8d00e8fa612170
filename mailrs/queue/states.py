"""The states a message, a recipient and a delivery go through, named once.

Their values are what the ``state`` columns hold (``mailrs.db.models``); changing a
value needs a migration.
"""

from __future__ import annotations

from enum import StrEnum


class MessageState(StrEnum):
    """Where a message is in the pipeline (``messages.state``)."""

    RECEIVED = "received"  # spooled and committed; validate runs next
    VALIDATED = "validated"  # trace headers prepared; spam_check runs next
    CHECKED = "checked"  # spam verdict recorded; route runs next
    ROUTED = "routed"  # deliveries made; deliver / relay / bounce work on them
    DELIVERED = "delivered"  # finished: at least one target got it
    FAILED = "failed"  # finished: no target got it


IN_FLIGHT = (
    MessageState.RECEIVED,
    MessageState.VALIDATED,
    MessageState.CHECKED,
    MessageState.ROUTED,
)
"""States of a message whose pipeline has not finished."""


class DeliveryState(StrEnum):
    """How far one target of a message got (``deliveries.state``)."""

    PENDING = "pending"  # made by route, not tried yet
    DELIVERING = "delivering"  # being written or sent now (a lease for relay)
    DEFERRED = "deferred"  # a temporary failure: retried when the message is due
    DELIVERED = "delivered"  # in the local mailbox
    RELAYED = "relayed"  # accepted by the remote server
    FAILED = "failed"  # permanent failure (or expired): reported by a DSN


BUSY = (DeliveryState.PENDING, DeliveryState.DELIVERING)
"""Delivery states with work still under way or to start."""
DONE = (DeliveryState.DELIVERED, DeliveryState.RELAYED)
"""Delivery states of a target that got the message."""
FINAL = (*DONE, DeliveryState.FAILED)
"""Delivery states that never change again."""


class RecipientState(StrEnum):
    """The outcome of one envelope recipient (``message_recipients.state``)."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class DeliveryKind(StrEnum):
    """Where a delivery goes (``deliveries.kind``)."""

    LOCAL = "local"
    REMOTE = "remote"
