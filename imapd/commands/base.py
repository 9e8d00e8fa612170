"""What every command handler sees and returns, and the state sets that gate commands."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from imapd.backend import Backend, UserMail
from imapd.errors import BadCommand
from imapd.names import canonical_name, wire_name
from imapd.parsed import Command
from imapd.policy import ServerPolicy
from imapd.protocol import Code, Status, capabilities
from imapd.responses import status_line
from imapd.session import SelectedMailbox, Session, State


class Output(Protocol):
    """Where responses go: the connection's writer."""

    async def send(self, data: bytes) -> None:
        """Write response bytes to the client."""
        ...


class Channel(Protocol):
    """What a few commands need from the connection itself (AUTHENTICATE, IDLE, STARTTLS)."""

    async def read_line(self, timeout: float) -> bytes | None:
        """One line from the client without its line end (None at end of input)."""
        ...

    def line_ready(self) -> bool:
        """True when a whole line from the client is already waiting."""
        ...

    async def start_tls(self) -> None:
        """Switch the connection to TLS."""
        ...


@dataclass(frozen=True)
class Completion:
    """The tagged OK that ends a successful command."""

    text: str
    code: Code | None = None
    code_data: str = ""


@dataclass
class Context:
    """A command's view of its connection: session, storage and output."""

    session: Session
    backend: Backend
    out: Output
    peer: str = ""
    mail: UserMail | None = None
    policy: ServerPolicy = field(default_factory=ServerPolicy)
    channel: Channel | None = None
    peer_ip: str = ""
    on_login: Callable[[str], bool] | None = None  # False: too many connections
    compressed: bool = False  # COMPRESS=DEFLATE is active (RFC 4978)

    def user_mail(self) -> UserMail:
        """The logged-in user's mail (only called in authenticated states)."""
        if self.mail is None:
            raise RuntimeError("no user is logged in")
        return self.mail

    def selected(self) -> SelectedMailbox:
        """The selected mailbox (only called in the selected state)."""
        if self.session.selected is None:
            raise RuntimeError("no mailbox is selected")
        return self.session.selected

    async def enable_condstore(self) -> None:
        """Turn CONDSTORE on for a CONDSTORE-enabling command in the selected state;
        the first time, RFC 7162 3.1 wants an untagged OK [HIGHESTMODSEQ] in its answer."""
        box = self.selected()
        if box.condstore:
            return
        self.session.condstore = box.condstore = True
        await self.out.send(
            status_line(None, Status.OK, "Highest", Code.HIGHESTMODSEQ, str(box.highestmodseq))
        )

    def login_allowed(self) -> bool:
        """True when LOGIN / AUTHENTICATE may be used on this connection now."""
        return self.policy.login_allowed(self.session.tls, self.peer_ip)

    def mailbox_name(self, wire: str) -> str:
        """The canonical name of a mailbox name sent by the client."""
        return canonical_name(wire, self.session.utf8)

    def wire_name(self, name: str) -> str:
        """A mailbox name as this client is sent it (modified UTF-7 or UTF-8)."""
        return wire_name(name, self.session.utf8)

    def capabilities(self) -> tuple[str, ...]:
        """The capabilities to announce now."""
        offered = self.policy.tls_context is not None and not self.session.tls
        authenticated = self.session.state is not State.NOT_AUTHENTICATED
        return capabilities(offered, self.login_allowed(), authenticated)


type Handler = Callable[[Context, Command], Awaitable[Completion]]


@dataclass(frozen=True)
class CommandSpec:
    """A command's handler and the states in which it is allowed."""

    handler: Handler
    states: frozenset[State]


NOT_AUTHENTICATED = frozenset({State.NOT_AUTHENTICATED})
AUTHENTICATED = frozenset({State.AUTHENTICATED, State.SELECTED})
SELECTED = frozenset({State.SELECTED})
ANY_STATE = frozenset({State.NOT_AUTHENTICATED, State.AUTHENTICATED, State.SELECTED})


def args_of[T](command: Command, kind: type[T]) -> T:
    """The command's arguments, checked to be of the kind its handler expects."""
    if not isinstance(command.args, kind):
        raise BadCommand(f"bad arguments for {command.key}")
    return command.args
