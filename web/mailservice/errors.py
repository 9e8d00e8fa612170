"""The errors the mail service raises; each web layer maps them to its own reply."""

from __future__ import annotations


class ServiceError(Exception):
    """A request the service cannot carry out; ``status`` is the HTTP status to answer."""

    status = 400


class NotFound(ServiceError):
    """No such folder or message for this user (also: another user's message)."""

    status = 404


class BadInput(ServiceError):
    """The request is malformed or names something that cannot be (bad folder name...)."""

    status = 400


class SendRefused(ServiceError):
    """The message cannot be sent: unknown local recipient, sender not allowed, no recipient."""

    status = 422


def from_core(error: Exception) -> ServiceError:
    """The service error for a core error that slipped through (e.g. a file renamed meanwhile)."""
    from mailrs.errors import InvalidMailboxName, MailboxNotFound, MessageNotFound

    if isinstance(error, MessageNotFound | MailboxNotFound):
        return NotFound(str(error))
    if isinstance(error, InvalidMailboxName):
        return BadInput(str(error))
    return ServiceError(str(error))


class Unavailable(ServiceError):
    """The message could not be stored for sending; nothing was sent."""

    status = 503
