"""IMAP error kinds and the one place that maps any exception to a BAD or NO reply.

Syntax and protocol errors answer BAD; a command that is understood but cannot be
done answers NO with a response code; anything unexpected is logged and answers
``NO [SERVERBUG]`` without a trace of the exception reaching the client.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from imapd.protocol import Code, Status
from mailrs.errors import (
    AuthFailed,
    InvalidMailboxName,
    MailboxExists,
    MailboxNotFound,
    MessageNotFound,
)

log = logging.getLogger("imapd")


class ImapError(Exception):
    """Base of the errors that the server answers in the protocol."""

    status: Status = Status.BAD

    def __init__(
        self, text: str, code: Code | None = None, code_data: str = "", tag: str | None = None
    ) -> None:
        super().__init__(text)
        self.text = text
        self.code = code
        self.code_data = code_data
        self.tag = tag


class BadCommand(ImapError):
    """A protocol error (wrong syntax, wrong state, bad argument): tagged BAD."""

    status = Status.BAD


class ParseError(BadCommand):
    """The command bytes do not follow the grammar; ``tag`` is set when it was readable."""


class UnknownCommand(ParseError):
    """A command name that this server does not implement."""


class InputTooLarge(BadCommand):
    """A line or literal over the limits; ``fatal`` when the connection must then close."""

    def __init__(
        self, text: str, code: Code | None = None, tag: str | None = None, fatal: bool = False
    ) -> None:
        super().__init__(text, code, tag=tag)
        self.fatal = fatal


class CommandFailed(ImapError):
    """A well-formed command that cannot be carried out: tagged NO."""

    status = Status.NO


@dataclass(frozen=True)
class Reply:
    """The status, code and text that answer a failed command."""

    status: Status
    code: Code | None
    text: str


# Errors from the mailrs core, by type: (status, code, text sent to the client).
_CORE_ERRORS: tuple[tuple[type[Exception], Reply], ...] = (
    (AuthFailed, Reply(Status.NO, Code.AUTHENTICATIONFAILED, "Authentication failed")),
    (MailboxNotFound, Reply(Status.NO, Code.NONEXISTENT, "No such mailbox")),
    (InvalidMailboxName, Reply(Status.NO, Code.CANNOT, "Invalid mailbox name")),
    (MailboxExists, Reply(Status.NO, Code.ALREADYEXISTS, "Mailbox already exists")),
    (MessageNotFound, Reply(Status.NO, Code.EXPUNGEISSUED, "Message no longer exists")),
)
SERVER_BUG = Reply(Status.NO, Code.SERVERBUG, "Internal server error, the problem was logged")


def reply_for(exc: Exception) -> Reply:
    """The reply to a command that raised ``exc``; unexpected errors are logged here."""
    if isinstance(exc, ImapError):
        return Reply(exc.status, exc.code, exc.text)
    for kind, reply in _CORE_ERRORS:
        if isinstance(exc, kind):
            return reply
    log.error("command failed unexpectedly", exc_info=exc)
    return SERVER_BUG
