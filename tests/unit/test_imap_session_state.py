"""Unit tests of the session snapshot (untagged updates) and the command error boundary."""

from __future__ import annotations

import asyncio

import pytest

from imapd import commands
from imapd.commands.base import ANY_STATE, CommandSpec, Completion, Context
from imapd.parser import Command, NoArgs, parse_command
from imapd.session import (
    Exists,
    Expunge,
    FlagsChanged,
    Recent,
    SelectedMailbox,
    Session,
    State,
)
from mailrs.errors import AuthFailed, MailboxNotFound
from mailrs.store.index import IndexedMessage, MailboxState


def state(*messages: tuple[int, str], uidnext: int = 0) -> MailboxState:
    """A mailbox state with (uid, flags) messages."""
    indexed = [
        IndexedMessage(uid, f"k{uid}", f"k{uid}:2,{f}", f, 10, 0.0, 1) for uid, f in messages
    ]
    return MailboxState(
        "INBOX", 77, uidnext or (messages[-1][0] + 1 if messages else 1), 1, indexed
    )


def test_open_snapshot() -> None:
    box = SelectedMailbox.open(state((1, "S"), (4, ""), (5, "")), readonly=False, recent=[5])
    assert box.exists == 3 and box.uidvalidity == 77 and box.uidnext == 6
    assert box.first_unseen() == 2
    assert box.recent == {5}
    assert box.message(3).uid == 5


def test_refresh_reports_expunges_in_descending_order_then_new_messages() -> None:
    box = SelectedMailbox.open(state((1, ""), (2, ""), (3, ""), (4, "")), False, [])
    updates = box.refresh(state((1, ""), (3, "S"), (6, ""), (7, "")), new_recent=[6, 7])
    assert updates == [
        Expunge(4, 4),
        Expunge(2, 2),
        FlagsChanged(2, 3, "S", False),
        Exists(4),
        Recent(2),
    ]
    assert [m.uid for m in box.messages] == [1, 3, 6, 7]
    assert box.uidnext == 8


def test_refresh_from_a_delta_with_the_expunged_named() -> None:
    box = SelectedMailbox.open(state((1, ""), (2, ""), (3, ""), (4, "")), False, [])
    changed = state((3, "S"), (6, ""), uidnext=7)
    delta = MailboxState("INBOX", 77, 7, 9, changed.messages, vanished=frozenset({2, 4, 5}))
    updates = box.refresh(delta, new_recent=[6])
    assert updates == [
        Expunge(4, 4),
        Expunge(2, 2),
        FlagsChanged(2, 3, "S", False),
        Exists(3),
        Recent(1),
    ]
    assert [m.uid for m in box.messages] == [1, 3, 6] and box.recent == {6}
    # while a FETCH runs, the expunged stay in the snapshot, marked
    held = SelectedMailbox.open(state((1, ""), (2, "")), False, [])
    held.refresh(MailboxState("INBOX", 77, 3, 9, [], vanished=frozenset({1})), [], False)
    assert [(m.uid, m.expunged) for m in held.messages] == [(1, True), (2, False)]


def test_refresh_without_changes_says_nothing() -> None:
    box = SelectedMailbox.open(state((1, ""), (2, "S")), False, [])
    assert box.refresh(state((1, ""), (2, "S")), new_recent=[]) == []


def test_select_by_sequence_and_uid() -> None:
    box = SelectedMailbox.open(state((3, ""), (7, ""), (9, "")), False, [])
    command = parse_command(b"a FETCH 2:* FLAGS")
    assert box.select(command.args.sequence, uid=False) == [2, 3]  # type: ignore[union-attr]
    uid_command = parse_command(b"a UID FETCH 7:8,9 FLAGS")
    assert box.select(uid_command.args.sequence, uid=True) == [2, 3]  # type: ignore[union-attr]
    with pytest.raises(ValueError):
        box.select(parse_command(b"a FETCH 4 FLAGS").args.sequence, uid=False)  # type: ignore[union-attr]


def test_session_states() -> None:
    session = Session()
    assert session.state is State.NOT_AUTHENTICATED
    session.login("alice@example.test")
    assert session.state is State.AUTHENTICATED
    session.select(SelectedMailbox.open(state(), True, []))
    assert session.state is State.SELECTED
    session.deselect()
    assert session.state is State.AUTHENTICATED and session.selected is None
    session.logout()
    assert session.state is State.LOGOUT


# -- the error boundary ----------------------------------------------------------------------


class Collect:
    """An Output that keeps what was sent."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []

    async def send(self, data: bytes) -> None:
        self.sent.append(data)


def run(command: Command, session: Session | None = None) -> bytes:
    ctx = Context(session or Session(), backend=None, out=Collect())  # type: ignore[arg-type]
    return asyncio.run(commands.execute(ctx, command))


@pytest.mark.parametrize(
    ("error", "reply"),
    [
        (RuntimeError("secret detail"), b"t NO [SERVERBUG] Internal server error"),
        (AuthFailed("x"), b"t NO [AUTHENTICATIONFAILED] Authentication failed"),
        (MailboxNotFound("x"), b"t NO [NONEXISTENT] No such mailbox"),
    ],
)
def test_exceptions_are_mapped_in_one_place(
    monkeypatch: pytest.MonkeyPatch, error: Exception, reply: bytes
) -> None:
    async def broken(ctx: Context, command: Command) -> Completion:
        raise error

    monkeypatch.setitem(commands.COMMANDS, "BROKEN", CommandSpec(broken, ANY_STATE))
    line = run(Command("t", "BROKEN", NoArgs()))
    assert line.startswith(reply)
    assert b"secret detail" not in line and b"Traceback" not in line


def test_commands_are_gated_by_state() -> None:
    assert run(parse_command(b"t SELECT INBOX")) == b"t BAD Log in first\r\n"
    assert run(parse_command(b"t FETCH 1 FLAGS")) == b"t BAD Log in first\r\n"
    session = Session()
    session.login("alice@example.test")
    assert run(parse_command(b"t FETCH 1 FLAGS"), session) == b"t BAD No mailbox selected\r\n"
    assert run(parse_command(b"t LOGIN a b"), session) == b"t BAD Already logged in\r\n"
    assert run(Command("t", "NOPE", NoArgs())).startswith(b"t BAD unknown command")
