"""Unit tests of the IMAP command parser, sequence sets and the command framing."""

from __future__ import annotations

import asyncio

import pytest

from imapd.cursor import LiteralAnnouncement, literal_at_end, peek_tag
from imapd.errors import InputTooLarge, ParseError, UnknownCommand
from imapd.framing import CommandReader, Limits
from imapd.parsed import (
    Command,
    FetchArgs,
    FetchItem,
    ListArgs,
    LoginArgs,
    MailboxArgs,
    NoArgs,
    Section,
)
from imapd.parser import parse_command
from imapd.protocol import Code
from imapd.sequences import SequenceSet, SequenceSetError, parse_sequence_set

# -- good commands ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"a1 CAPABILITY", Command("a1", "CAPABILITY", NoArgs())),
        (b"A.2 noop", Command("A.2", "NOOP", NoArgs())),
        (b"x LOGOUT", Command("x", "LOGOUT", NoArgs())),
        (
            b"a LOGIN alice@example.test secret",
            Command("a", "LOGIN", LoginArgs("alice@example.test", "secret")),
        ),
        (
            b'a LOGIN "alice@example.test" "pa ss\\"wo\\\\rd"',
            Command("a", "LOGIN", LoginArgs("alice@example.test", 'pa ss"wo\\rd')),
        ),
        (
            b"a LOGIN {5}\r\nalice {6+}\r\nse cr\n",
            Command("a", "LOGIN", LoginArgs("alice", "se cr\n")),
        ),
        (b'a LOGIN "" ""', Command("a", "LOGIN", LoginArgs("", ""))),
        (b'a LOGIN "h\xc3\xa9" x', Command("a", "LOGIN", LoginArgs("h\u00e9", "x"))),
        (b"a SELECT INBOX", Command("a", "SELECT", MailboxArgs("INBOX"))),
        (b'a examine "Archive/2024"', Command("a", "EXAMINE", MailboxArgs("Archive/2024"))),
        (b'a LIST "" *', Command("a", "LIST", ListArgs("", "*"))),
        (b'a LIST "" ""', Command("a", "LIST", ListArgs("", ""))),
        (b"a LIST Archive/ %/2024]", Command("a", "LIST", ListArgs("Archive/", "%/2024]"))),
        (b'a LIST "" "In Box"', Command("a", "LIST", ListArgs("", "In Box"))),
    ],
)
def test_parses_good_commands(data: bytes, expected: Command) -> None:
    assert parse_command(data) == expected


def test_parses_fetch_items_and_sections() -> None:
    command = parse_command(
        b"t FETCH 1:* (FLAGS UID rfc822.size INTERNALDATE BODY.PEEK[HEADER] "
        b"BODY[] BODY[TEXT] body.peek[] BODY[]<10.20>)"
    )
    assert command.name == "FETCH" and not command.uid
    assert isinstance(command.args, FetchArgs)
    assert command.args.sequence == SequenceSet(((1, None),))
    assert command.args.items == (
        FetchItem("FLAGS"),
        FetchItem("UID"),
        FetchItem("RFC822.SIZE"),
        FetchItem("INTERNALDATE"),
        FetchItem("BODY", Section("HEADER"), peek=True),
        FetchItem("BODY", Section("")),
        FetchItem("BODY", Section("TEXT")),
        FetchItem("BODY", Section(""), peek=True),
        FetchItem("BODY", Section(""), partial=(10, 20)),
    )
    names = [item.response_name for item in command.args.items]
    assert names[4:] == ["BODY[HEADER]", "BODY[]", "BODY[TEXT]", "BODY[]", "BODY[]<10>"]


def test_parses_uid_fetch_single_item_and_macro() -> None:
    command = parse_command(b"t UID FETCH 2,4:6,* BODY.PEEK[]")
    assert command.uid and command.key == "UID FETCH"
    assert isinstance(command.args, FetchArgs)
    assert command.args.sequence == SequenceSet(((2, 2), (4, 6), (None, None)))
    assert command.args.items == (FetchItem("BODY", Section(""), peek=True),)
    fast = parse_command(b"t FETCH 1 FAST")
    assert isinstance(fast.args, FetchArgs)
    assert [i.name for i in fast.args.items] == ["FLAGS", "INTERNALDATE", "RFC822.SIZE"]


# -- malformed input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "tag"),
    [
        (b"", None),
        (b"   ", None),
        (b"NOOP", None),  # no tag
        (b"+tag NOOP", None),
        (b"\xff\xfe NOOP", None),
        (b"a NOOP extra", "a"),
        (b"a NOOP ", "a"),
        (b"a LOGIN alice", "a"),
        (b"a LOGIN  alice secret", "a"),
        (b'a LOGIN "alice secret', "a"),
        (b'a LOGIN "al\\ice" x', "a"),
        (b'a LOGIN "a\x00b" x', "a"),
        (b"a LOGIN {10}\r\nshort", "a"),
        (b"a LOGIN {3}\r\na\x00b x", "a"),
        (b"a LOGIN {x}\r\nabc x", "a"),
        (b'a LOGIN "\xff\xfe" x', "a"),
        (b"a LOGIN al(ice x", "a"),
        (b"a SELECT", "a"),
        (b"a SELECT (INBOX)", "a"),
        (b"a LIST *", "a"),
        (b"a FETCH", "a"),
        (b"a FETCH 1", "a"),
        (b"a FETCH 0 FLAGS", "a"),
        (b"a FETCH 1:0 FLAGS", "a"),
        (b"a FETCH 4294967296 FLAGS", "a"),
        (b"a FETCH 1,,2 FLAGS", "a"),
        (b"a FETCH x FLAGS", "a"),
        (b"a FETCH 1 ()", "a"),
        (b"a FETCH 1 (FLAGS", "a"),
        (b"a FETCH 1 (FLAGS  UID)", "a"),
        (b"a FETCH 1 BOGUS", "a"),
        (b"a FETCH 1 BODY[", "a"),
        (b"a FETCH 1 ENVELOPE.X", "a"),
        (b"a FETCH 1 BODY[HEADER.FIELDS ()]", "a"),
        (b"a FETCH 1 BODY[HEADER.FIELDS From]", "a"),
        (b"a FETCH 1 BODY[0]", "a"),
        (b"a FETCH 1 BODY[1.]", "a"),
        (b"a FETCH 1 BODY[MIME]", "a"),
        (b"a FETCH 1 BODY[1.BOGUS]", "a"),
        (b"a APPEND x", "a"),
        (b"a APPEND x (\\Seen) {3}", "a"),
        (b'a APPEND x "bad date" {3}\r\nabc', "a"),
        (b'a APPEND x " 1-Feb-2024 25:00:00 +0000" {3}\r\nabc', "a"),
        (b"a STORE 1 FLAGS.LOUD (\\Seen)", "a"),
        (b"a STORE 1 +FLAGS (\\Recent)", "a"),
        (b"a SEARCH", "a"),
        (b"a SEARCH FROM", "a"),
        (b"a SEARCH BEFORE 31-Feb-2024", "a"),
        (b"a SEARCH OR SEEN", "a"),
        (b"a SEARCH (SEEN", "a"),
        (b"a SEARCH BOGUS", "a"),
        (b"a SEARCH " + b"NOT " * 200 + b"ALL", "a"),
        (b"a STATUS INBOX (MESSAGES BOGUS)", "a"),
        (b"a STATUS INBOX ()", "a"),
        (b"a COPY 1", "a"),
        (b"a UID EXPUNGE", "a"),
        (b"a ENABLE", "a"),
        (b'a ID ("a")', "a"),
        (b"a SELECT INBOX (QRESYNC)", "a"),
        (b"a FETCH 1 FLAGS (CHANGEDSINCE x)", "a"),
        (b"a FETCH 1 BODY[]<5>", "a"),
        (b"a FETCH 1 BODY[]<5.0>", "a"),
        (b"a UID", "a"),
        (b"a UID FETCH 1", "a"),
    ],
)
def test_malformed_commands_raise_parse_error(data: bytes, tag: str | None) -> None:
    with pytest.raises(ParseError) as info:
        parse_command(data)
    assert info.value.tag == tag
    assert info.value.text


@pytest.mark.parametrize("data", [b"a FROBNICATE", b"a UID FROB 1", b"a UID NOOP", b"a UID LIST"])
def test_unknown_commands(data: bytes) -> None:
    with pytest.raises(UnknownCommand) as info:
        parse_command(data)
    assert info.value.tag == "a"


def test_parse_error_never_echoes_unbounded_input() -> None:
    with pytest.raises(UnknownCommand) as info:
        parse_command(b"a " + b"X" * 10_000)
    assert len(info.value.text) < 100


# -- helpers used by the framing -----------------------------------------------------------


def test_literal_at_end() -> None:
    assert literal_at_end(b"a LOGIN {5}\r\n") == LiteralAnnouncement(5, True)
    assert literal_at_end(b"a LOGIN x {12+}\n") == LiteralAnnouncement(12, False)
    assert literal_at_end(b"a LOGIN {5}x\r\n") is None
    assert literal_at_end(b"a LOGIN x y\r\n") is None
    assert literal_at_end(b"a {" + b"9" * 5000 + b"}\r\n") == LiteralAnnouncement(-1, True)


def test_peek_tag() -> None:
    assert peek_tag(b"a1 NOOP") == "a1"
    assert peek_tag(b"a1") is None
    assert peek_tag(b"+ x") is None
    assert peek_tag(b"\x00 x") is None
    assert peek_tag(b"") is None


# -- sequence sets -------------------------------------------------------------------------------


def test_sequence_set_resolution() -> None:
    assert parse_sequence_set("1:*").message_numbers(3) == [1, 2, 3]
    assert parse_sequence_set("*").message_numbers(3) == [3]
    assert parse_sequence_set("2,4:6").message_numbers(6) == [2, 4, 5, 6]
    assert parse_sequence_set("3:1,2").message_numbers(3) == [1, 2, 3]
    with pytest.raises(ValueError):
        parse_sequence_set("1:*").message_numbers(0)
    with pytest.raises(ValueError):
        parse_sequence_set("4").message_numbers(3)
    with pytest.raises(ValueError):
        parse_sequence_set("1").message_numbers(0)


def test_uid_set_resolution_ignores_missing_uids() -> None:
    uids = [3, 7, 8, 20]
    assert parse_sequence_set("1:*").match_uids(uids) == [0, 1, 2, 3]
    assert parse_sequence_set("8").match_uids(uids) == [2]
    assert parse_sequence_set("4:7,100").match_uids(uids) == [1]
    assert parse_sequence_set("100:*").match_uids(uids) == [3]  # * is the last UID
    assert parse_sequence_set("1:4294967295").match_uids(uids) == [0, 1, 2, 3]
    assert parse_sequence_set("5").match_uids(uids) == []
    assert parse_sequence_set("*").match_uids([]) == []


@pytest.mark.parametrize("text", ["", "0", "1:", ":2", "a", "1,,2", "01", "99999999999"])
def test_bad_sequence_sets(text: str) -> None:
    with pytest.raises(SequenceSetError):
        parse_sequence_set(text)


# -- framing: reading whole commands from a stream ---------------------------------------------


def read_commands(data: bytes, limits: Limits | None = None) -> tuple[list[object], int]:
    """Feed ``data`` to a CommandReader; returns what each read gave and continuations sent."""
    limits = limits or Limits(max_line=64, max_literal=32, max_command=128, max_discard=256)

    async def run() -> tuple[list[object], int]:
        reader = asyncio.StreamReader(limit=limits.max_line)
        reader.feed_data(data)
        reader.feed_eof()
        continuations = 0

        async def request_literal() -> None:
            nonlocal continuations
            continuations += 1

        commands = CommandReader(reader, request_literal, limits)
        results: list[object] = []
        while True:
            try:
                command = await commands.read_command()
            except InputTooLarge as exc:
                results.append((exc.tag, exc.text, exc.code, exc.fatal))
                if exc.fatal:
                    break
                continue
            if command is None:
                break
            results.append(command)
        return results, continuations

    return asyncio.run(run())


def test_framing_joins_literals_and_asks_for_continuation() -> None:
    results, continuations = read_commands(
        b"a LOGIN {5}\r\nalice {3+}\r\npwd\r\nb NOOP\nc NOOP\r\n"
    )
    assert results == [b"a LOGIN {5}\r\nalice {3+}\r\npwd", b"b NOOP", b"c NOOP"]
    assert continuations == 1  # only for the synchronising literal


def test_framing_refuses_long_lines_and_goes_on() -> None:
    results, _ = read_commands(b"a1 " + b"x" * 500 + b"\r\nb NOOP\r\n")
    assert results == [("a1", "Command line too long", None, False), b"b NOOP"]


def test_framing_refuses_big_synchronising_literal_without_reading_it() -> None:
    results, continuations = read_commands(b"a LOGIN {33}\r\nb NOOP\r\n")
    assert results == [("a", "Literal too large", Code.TOOBIG, False), b"b NOOP"]
    assert continuations == 0


def test_framing_closes_on_big_non_synchronising_literal() -> None:
    results, _ = read_commands(b"a LOGIN {33+}\r\n" + b"c LOGOUT\r\n")
    assert results == [("a", "Literal too large", Code.TOOBIG, True)]


def test_framing_closes_when_a_long_line_never_ends() -> None:
    results, _ = read_commands(b"a " + b"y" * 1000)
    assert results == [(None, "Command line too long", None, True)]


def test_framing_limits_the_whole_command() -> None:
    chunk = b"{30}\r\n" + b"z" * 30
    results, _ = read_commands(b"a LOGIN " + b" ".join([chunk] * 4) + b"\r\n")
    assert results[0] == ("a", "Literal too large", Code.TOOBIG, False)


def test_framing_end_of_input_mid_command() -> None:
    results, _ = read_commands(b"a LOGIN {5}\r\nab")
    assert results == []
