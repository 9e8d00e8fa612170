"""Generated IMAP commands against a live imapd: every one gets an answer, none a traceback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.imap import ALICE, RawClient, ServerHarness, sample_message

from imapd.framing import Limits

TOKENS = [
    b"FETCH", b"UID", b"STORE", b"SEARCH", b"COPY", b"MOVE", b"APPEND", b"SELECT", b"EXAMINE",
    b"STATUS", b"LIST", b"LSUB", b"CREATE", b"DELETE", b"RENAME", b"EXPUNGE", b"ENABLE", b"ID",
    b"IDLE", b"NOOP", b"CHECK", b"NAMESPACE", b"GETQUOTAROOT", b"SUBSCRIBE", b"UNSELECT",
    b"1", b"1:*", b"*", b"2,4:6", b"0", b"4294967296", b"(", b")", b"[", b"]", b"<0.10>",
    b"BODY[]", b"BODY.PEEK[1.2.HEADER.FIELDS (FROM)]", b"BODY[1.MIME]", b"ENVELOPE",
    b"BODYSTRUCTURE", b"FLAGS", b"+FLAGS.SILENT", b"-FLAGS", b"(\\Seen)", b"\\Deleted", b"$Kw",
    b"INBOX", b'"Sent"', b"Archive/%", b"%", b"NIL", b"OR", b"NOT", b"HEADER", b"SUBJECT",
    b"TEXT", b"BODY", b"SINCE", b"1-Jan-2024", b"LARGER", b"CHARSET", b"UTF-8", b"MODSEQ",
    b"(CHANGEDSINCE 1)", b"(UNCHANGEDSINCE 1)", b"(MESSAGES UIDNEXT)", b'"x"', b"\"\\\"",
    b"{0}\r\n", b"{2+}\r\nab", b"\xff", b"\x00", b"&AOk-", b"CONDSTORE", b"(CONDSTORE)",
]  # fmt: skip


@pytest.fixture(scope="module")
def live_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RawClient]:
    """A logged-in session with a selected INBOX on a live server."""
    harness = ServerHarness(tmp_path_factory.mktemp("imap-fuzz"))
    for n in range(3):
        harness.store.deliver(ALICE, sample_message(f"fuzz {n}"))
    harness.start()
    conn = RawClient(harness.server.host, harness.server.port)
    conn.command(b"l", b'LOGIN alice@example.test "alice password"')
    conn.command(b"s", b"SELECT INBOX")
    try:
        yield conn
    finally:
        conn.close()
        harness.stop()  # fails if the server logged a traceback


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(st.lists(st.sampled_from([t for t in TOKENS if t not in (b"IDLE",)]), max_size=7))
def test_live_server_answers_every_generated_command(
    live_session: RawClient, tokens: list[bytes]
) -> None:
    line = b"z " + b" ".join(tokens)
    if len(line) > Limits().max_line or b"{" in line:
        line = line.replace(b"{", b"x")
    live_session.send(line.replace(b"\r\n", b" ") + b"\r\n")
    reply = live_session.until_tagged(b"z")
    last = reply[-1]
    assert last.startswith((b"z OK", b"z NO", b"z BAD")) or last.startswith(b"* BAD"), reply
    assert b"SERVERBUG" not in last
    if any(word in line for word in (b"SELECT", b"EXAMINE", b"DELETE", b"RENAME")):
        live_session.command(b"rs", b"SELECT INBOX")  # back to a known state
