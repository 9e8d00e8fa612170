"""The few exception types that cross layers; each service maps them to its own replies."""


class MailrsError(Exception):
    """Base of every mailrs error."""


class ConfigError(MailrsError):
    """The configuration is invalid; the message names the key."""


class InvalidAddress(MailrsError):
    """An e-mail address is malformed or not in a local domain."""


class UserExists(MailrsError):
    """A user with that address already exists."""


class UserNotFound(MailrsError):
    """No user with that address."""


class AuthFailed(MailrsError):
    """Wrong user name or password."""


class InvalidMailboxName(MailrsError):
    """A mailbox (folder) name is not allowed, e.g. it would leave the user's directory."""


class MailboxNotFound(MailrsError):
    """The mailbox (folder) does not exist."""


class MailboxExists(MailrsError):
    """The mailbox (folder) already exists."""


class MessageNotFound(MailrsError):
    """No message with that key in that mailbox."""


class SpoolError(MailrsError):
    """The spool or the database could not record an accepted message."""


class DomainError(MailrsError):
    """A domain operation that cannot be done (unknown domain, users left, no rotation...)."""
