"""Hypothesis fuzzing of the command parser, and of a live server with generated commands.

Any byte sequence must give a command object or a ParseError (which the connection
answers with BAD); a live session must answer every generated command with a tagged
reply and keep going. Example counts are bounded so the module runs in seconds.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from imapd.bodystructure import body_structure
from imapd.envelope import envelope
from imapd.errors import ParseError
from imapd.parser import Command, parse_command
from imapd.responses import encode
from mailrs.store.mime import parse

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


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_parse_or_raise_parse_error(data: bytes) -> None:
    try:
        command = parse_command(data)
    except ParseError as exc:
        assert exc.text
        return
    assert isinstance(command, Command)


@settings(max_examples=600, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), min_size=1, max_size=8))
def test_token_soup_parses_or_raises_parse_error(tokens: list[bytes]) -> None:
    data = b"t " + b" ".join(tokens)
    try:
        command = parse_command(data)
    except ParseError as exc:
        assert exc.tag in ("t", None)
        return
    assert command.tag == "t"


HEADER_TEXT = st.binary(max_size=60).map(lambda data: data.replace(b"\r", b"").replace(b"\n", b""))


@settings(max_examples=300, deadline=None)
@given(HEADER_TEXT, HEADER_TEXT, HEADER_TEXT)
def test_envelope_and_bodystructure_of_any_header_text(
    address: bytes, param: bytes, text: bytes
) -> None:
    """Whatever the address, parameter or text bytes, ENVELOPE and BODYSTRUCTURE are built."""
    message = (
        b"From: " + address + b"\r\nTo: g: " + address + b";, <" + address + b">\r\n"
        b"Content-Type: multipart/mixed; boundary=" + param + b"; name*=" + param + b"\r\n"
        b"Content-Disposition: "
        + text
        + b"\r\nSubject: "
        + text
        + b"\r\n\r\n--"
        + param
        + b"\r\nx\r\n"
    )
    root = parse(message)
    assert encode(envelope(root.fields)).startswith(b"(")
    assert body_structure(root, True).startswith(b"(")
