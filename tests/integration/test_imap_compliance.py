"""RFC 3501 details that IMAP compliance suites (Dovecot's imaptest and friends) check.

Everything goes over a raw socket to one imapd process for the module, so the exact
bytes of every response are what the assertions see. Each test works in a mailbox of
its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from support.imap import ALICE, RawClient, ServerHarness

PASSWORD = "alice password"


pytestmark = pytest.mark.imap_server()


class Conn:
    """A logged-in raw connection that reads literals inside response lines."""

    def __init__(self, harness: ServerHarness) -> None:
        self.raw = RawClient(harness.server.host, harness.server.port)
        self.count = 0
        assert self.run(f'LOGIN {ALICE} "{PASSWORD}"'.encode())[-1].split()[1] == b"OK"

    def line(self) -> bytes:
        """One response line with any literals inlined as ``{n}`` CRLF data."""
        line = self.raw.read_line()
        while (match := re.search(rb"\{(\d+)\}$", line)) is not None:
            line += b"\r\n" + self.raw.read_exact(int(match.group(1))) + self.raw.read_line()
        return line

    def run(self, command: bytes) -> list[bytes]:
        """Send one command (a tag is added) and read up to its tagged reply."""
        self.count += 1
        tag = b"c%d" % self.count
        self.raw.send(tag + b" " + command + b"\r\n")
        lines = []
        while True:
            line = self.line()
            lines.append(line)
            if line.startswith(tag + b" ") or line == b"":
                return lines

    def ok(self, command: bytes) -> list[bytes]:
        """Run a command that must succeed; its untagged lines."""
        lines = self.run(command)
        assert lines[-1].split(b" ")[1] == b"OK", lines
        return lines[:-1]

    def status(self, command: bytes) -> bytes:
        """Run a command; the status word of its tagged reply (OK, NO or BAD)."""
        return self.run(command)[-1].split(b" ")[1]

    def append(self, mailbox: bytes, message: bytes) -> None:
        """APPEND a message with a non-synchronising literal."""
        self.ok(b"APPEND %s {%d+}\r\n%s" % (mailbox, len(message), message))

    def close(self) -> None:
        """Close the socket."""
        self.raw.close()


@pytest.fixture
def conn(harness: ServerHarness) -> Iterator[Conn]:
    """A logged-in connection for one test."""
    connection = Conn(harness)
    try:
        yield connection
    finally:
        connection.close()


def mailbox(conn: Conn, name: bytes, *messages: bytes) -> None:
    """Create a mailbox, fill it and SELECT it."""
    conn.ok(b"CREATE " + name)
    for message in messages:
        conn.append(name, message)
    conn.ok(b"SELECT " + name)


def crlf(text: bytes) -> bytes:
    """Test messages are written with LF; the wire wants CRLF."""
    return text.replace(b"\n", b"\r\n")


# -- ENVELOPE ---------------------------------------------------------------------------------


def test_envelope_comment_names_and_routes(conn: Conn) -> None:
    """imaptest fetch-envelope: a comment is the name, a source route is the adl."""
    mailbox(
        conn,
        b"env-comments",
        crlf(
            b"Date: Sat, 01 Feb 2007 01:02:03 +0200\nFrom: user@domain (Real Name)\nSender: \n\nx\n"
        ),
        crlf(b"Date: Sat, 01 Feb 2007 01:02:03 +0200\nFrom: <@route:user@domain>\n\nbody\n"),
        crlf(b"From: <@r1,@r2:u@h>, nodomain\n\nx\n"),
    )
    lines = conn.ok(b"FETCH 1:3 ENVELOPE")
    real = b'(("Real Name" NIL "user" "domain"))'
    assert lines[0] == (
        b'* 1 FETCH (ENVELOPE ("Sat, 01 Feb 2007 01:02:03 +0200" NIL %s %s %s'
        b" NIL NIL NIL NIL NIL))" % (real, real, real)
    )
    routed = b'((NIL "@route" "user" "domain"))'
    assert routed + b" " + routed + b" " + routed in lines[1]
    assert b'((NIL "@r1,@r2" "u" "h") (NIL NIL "nodomain" "MISSING_DOMAIN"))' in lines[2]


def test_envelope_keeps_8bit_headers_as_they_are(conn: Conn) -> None:
    """Raw UTF-8 in Subject and in a display name reaches the client unchanged (a literal)."""
    subject = "8bit été".encode()
    name = "Jürgen".encode()
    mailbox(
        conn,
        b"env-8bit",
        b"From: " + name + b" <j@example.test>\r\nSubject: " + subject + b"\r\n\r\nx\r\n",
    )
    line = conn.ok(b"FETCH 1 ENVELOPE")[0]
    assert b"{%d}\r\n%s" % (len(subject), subject) in line
    assert b'(({%d}\r\n%s NIL "j" "example.test"))' % (len(name), name) in line
    assert b"\xef\xbf\xbd" not in line  # no U+FFFD replacement characters


# -- sequence sets ----------------------------------------------------------------------------


def test_star_in_an_empty_mailbox_is_bad_but_uid_ranges_are_ok(conn: Conn) -> None:
    """imaptest/Dovecot: "1:*" names no message in an empty mailbox; UID sets may be empty."""
    mailbox(conn, b"seq-empty")
    for command in (b"FETCH 1:* FLAGS", b"FETCH * FLAGS", b"STORE 1:* +FLAGS (\\Seen)"):
        assert conn.status(command) == b"BAD", command
    assert conn.status(b"COPY 1:* INBOX") == b"BAD"
    assert conn.ok(b"UID FETCH 1:* FLAGS") == []
    assert conn.ok(b"UID STORE 1:* +FLAGS (\\Seen)") == []
    assert conn.ok(b"SEARCH 1:*") == [b"* SEARCH"]
    assert conn.ok(b"NOOP") == []


# -- BODYSTRUCTURE ----------------------------------------------------------------------------

MULTIPART = crlf(
    b"From: a@example.test\n"
    b"Subject: parts\n"
    b"MIME-Version: 1.0\n"
    b'Content-Type: multipart/mixed; boundary="foo\n bar"\n'
    b"\n"
    b"--foo bar\n"
    b"Content-Type: text/plain; charset=us-ascii\n"
    b"\n"
    b"no line end before the boundary\n"
    b"--foo bar\n"
    b"Content-Type: message/rfc822\n"
    b"\n"
    b"Subject: inner\n"
    b"\n"
    b"inner text\n"
    b"\n"
    b"--foo bar--\n"
)


def test_bodystructure_lines_count_line_ends(conn: Conn) -> None:
    """body-fld-lines counts CRLFs, the boundary's CRLF excluded (Dovecot, Cyrus, UW-IMAP)."""
    mailbox(conn, b"bs-lines", MULTIPART)
    line = conn.ok(b"FETCH 1 BODYSTRUCTURE")[0]
    assert b'("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 31 0 NIL NIL NIL NIL)' in line
    inner = b'("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 12 1 NIL NIL NIL NIL) 3 '
    assert b' "7bit" 30 (NIL "inner" NIL NIL NIL NIL NIL NIL NIL NIL) ' + inner in line
    assert line.endswith(b' "mixed" ("boundary" "foo bar") NIL NIL NIL))')


DIGEST_IN_MESSAGE = crlf(
    b"From: user@domain.org\n"
    b"Content-Type: message/rfc822\n"
    b"\n"
    b"From: sub@domain.org\n"
    b"Subject: submsg\n"
    b'Content-Type: multipart/digest; boundary="foo"\n'
    b"\n"
    b"prologue\n"
    b"\n"
    b"--foo \n"
    b"\n"
    b"From: m1@example.com\n"
    b"Subject: m1\n"
    b"\n"
    b"m1 body\n"
    b"\n"
    b"--foo \n"
    b"X-Mime: m2 header\n"
    b"\n"
    b"From: m2@example.com\n"
    b"Subject: m2\n"
    b"\n"
    b"m2 body\n"
    b"\n"
    b"--foo--\n"
)


def test_sections_inside_a_top_level_message_rfc822(conn: Conn) -> None:
    """imaptest fetch-body-message-rfc822-mime: 1.2.MIME, 1.2.HEADER, 1.2.TEXT of a digest."""
    mailbox(conn, b"sec-digest", DIGEST_IN_MESSAGE)
    line = conn.ok(
        b"FETCH 1 (BODY.PEEK[1.1] BODY.PEEK[1.1.MIME] BODY.PEEK[1.2.MIME] BODY.PEEK[1.2.HEADER]"
        b" BODY.PEEK[1.2.TEXT])"
    )[0]
    assert line == (
        b"* 1 FETCH (BODY[1.1] {46}\r\nFrom: m1@example.com\r\nSubject: m1\r\n\r\nm1 body\r\n"
        b" BODY[1.1.MIME] {2}\r\n\r\n"
        b" BODY[1.2.MIME] {21}\r\nX-Mime: m2 header\r\n\r\n"
        b" BODY[1.2.HEADER] {37}\r\nFrom: m2@example.com\r\nSubject: m2\r\n\r\n"
        b" BODY[1.2.TEXT] {9}\r\nm2 body\r\n)"
    )


# -- SEARCH -----------------------------------------------------------------------------------


def test_search_address_with_comments_inside(conn: Conn) -> None:
    """imaptest search-addresses: comments inside an address do not hide it from FROM."""
    mailbox(
        conn,
        b"search-addr",
        crlf(b"From: <user-from (comment)@ (comment) domain.org>\nTo: x@y.z\n\nbody3\n"),
        crlf(b"From: user-from@domain.org (RealFrom)\n\nbody4\n"),
        crlf(
            b"To: groupname: groupuser1@domain.org;,\n  groupname2: groupuser3@domain.org;\n\nx\n"
        ),
    )
    assert conn.ok(b"SEARCH FROM user-from@domain.org") == [b"* SEARCH 1 2"]
    assert conn.ok(b"SEARCH FROM ealfro") == [b"* SEARCH 2"]
    assert conn.ok(b"SEARCH TO groupname2") == [b"* SEARCH 3"]
    assert conn.ok(b"SEARCH TO groupuser4") == [b"* SEARCH"]


# -- COPY and MOVE ----------------------------------------------------------------------------


def test_move_into_the_same_mailbox_gives_a_new_uid(conn: Conn) -> None:
    """RFC 6851 / imaptest move: the moved message gets a new UID, and COPYUID says which."""
    mailbox(conn, b"move-self", crlf(b"Subject: 1\n\nx\n"), crlf(b"Subject: 2\n\ny\n"))
    uidvalidity = re.search(
        rb"UIDVALIDITY (\d+)", b" ".join(conn.ok(b"STATUS move-self (UIDVALIDITY)"))
    )
    assert uidvalidity is not None
    lines = conn.ok(b"MOVE 1 move-self")
    assert lines[0].startswith(b"* OK [COPYUID %s 1 3]" % uidvalidity.group(1)), lines
    assert lines[1:3] == [b"* 1 EXPUNGE", b"* 2 EXISTS"], lines
    assert conn.ok(b"UID FETCH 1:* (UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])") == [
        b"* 1 FETCH (UID 2 BODY[HEADER.FIELDS (SUBJECT)] {14}\r\nSubject: 2\r\n\r\n)",
        b"* 2 FETCH (UID 3 BODY[HEADER.FIELDS (SUBJECT)] {14}\r\nSubject: 1\r\n\r\n)",
    ]


# -- FETCH and \Seen --------------------------------------------------------------------------


def test_implicit_seen_is_announced_once_and_with_modseq_under_condstore(conn: Conn) -> None:
    """RFC 3501 6.4.5 and RFC 7162 3.1: BODY[] sets \\Seen; under CONDSTORE with MODSEQ."""
    mailbox(conn, b"seen-modseq", crlf(b"Subject: a\n\nx\n"), crlf(b"Subject: b\n\ny\n"))
    first = conn.ok(b"FETCH 1 BODY[TEXT]")
    assert first == [b"* 1 FETCH (BODY[TEXT] {3}\r\nx\r\n FLAGS (\\Seen \\Recent))"]
    assert conn.ok(b"FETCH 1 BODY[TEXT]") == [b"* 1 FETCH (BODY[TEXT] {3}\r\nx\r\n)"]
    conn.ok(b"ENABLE CONDSTORE")
    line = conn.ok(b"FETCH 2 BODY[TEXT]")[0]
    assert re.fullmatch(
        rb"\* 2 FETCH \(BODY\[TEXT\] \{3\}\r\ny\r\n FLAGS \(\\Seen \\Recent\) MODSEQ \(\d+\)\)",
        line,
    ), line


# -- APPEND -----------------------------------------------------------------------------------


def test_append_with_bare_lf_is_served_as_crlf(conn: Conn) -> None:
    """Messages on the wire are CRLF text; RFC822.SIZE counts exactly what BODY[] sends."""
    mailbox(conn, b"append-lf", b"Subject: lf\n\nbody\nx\r\n")
    assert conn.ok(b"FETCH 1 (RFC822.SIZE BODY.PEEK[] BODY.PEEK[TEXT])") == [
        b"* 1 FETCH (RFC822.SIZE 24 BODY[] {24}\r\nSubject: lf\r\n\r\nbody\r\nx\r\n"
        b" BODY[TEXT] {9}\r\nbody\r\nx\r\n)"
    ]


def test_multipart_without_parts_stays_multipart(conn: Conn) -> None:
    """body-type-mpart needs one body at least: an empty multipart gets one empty part."""
    message = crlf(b"Subject: e\nContent-Type: multipart/mixed; boundary=zz\n\npreamble\n--zz--\n")
    mailbox(conn, b"bs-empty-multipart", message)
    assert conn.ok(b"FETCH 1 (BODYSTRUCTURE BODY.PEEK[1])") == [
        b'* 1 FETCH (BODYSTRUCTURE (("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0'
        b' NIL NIL NIL NIL) "mixed" ("boundary" "zz") NIL NIL NIL) BODY[1] {0}\r\n)'
    ]


def test_append_date_keeps_its_zone_for_internaldate_and_search(conn: Conn) -> None:
    """RFC 3501 6.3.11: the APPEND date-time is the INTERNALDATE, zone and all (imaptest
    search-intdate), and BEFORE/ON/SINCE use that date; a COPY keeps it."""
    conn.ok(b"CREATE intdate")
    for date in (
        b"24-Mar-2007 23:00:00 +0200",
        b"25-Mar-2007 00:00:00 +0200",
        b"26-Mar-2007 00:00:00 -0330",
    ):
        conn.ok(b'APPEND intdate "%s" {6+}\r\nx: y\r\n' % date)
    conn.ok(b"SELECT intdate")
    assert conn.ok(b"FETCH 1:3 INTERNALDATE") == [
        b'* 1 FETCH (INTERNALDATE "24-Mar-2007 23:00:00 +0200")',
        b'* 2 FETCH (INTERNALDATE "25-Mar-2007 00:00:00 +0200")',
        b'* 3 FETCH (INTERNALDATE "26-Mar-2007 00:00:00 -0330")',
    ]
    assert conn.ok(b"SEARCH ON 24-Mar-2007") == [b"* SEARCH 1"]
    assert conn.ok(b"SEARCH ON 25-Mar-2007") == [b"* SEARCH 2"]
    assert conn.ok(b"SEARCH SINCE 26-Mar-2007") == [b"* SEARCH 3"]
    assert conn.ok(b"SEARCH BEFORE 25-Mar-2007") == [b"* SEARCH 1"]
    conn.ok(b"CREATE intdate-copy")
    conn.ok(b"COPY 2 intdate-copy")
    conn.ok(b"SELECT intdate-copy")
    assert conn.ok(b"FETCH 1 INTERNALDATE") == [
        b'* 1 FETCH (INTERNALDATE "25-Mar-2007 00:00:00 +0200")'
    ]


def test_bodystructure_keeps_8bit_parameters_and_descriptions(conn: Conn) -> None:
    """Raw UTF-8 in a file name or description is sent as UTF-8 text, not as U+FFFD."""
    name, description = "ärger.pdf".encode(), "Übersicht".encode()
    message = (
        b"From: a@example.test\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: application/pdf; name="' + name + b'"\r\n'
        b'Content-Disposition: attachment; filename="' + name + b'"\r\n'
        b"Content-Description: " + description + b"\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n"
    )
    mailbox(conn, b"bs-8bit", message)
    line = conn.ok(b"FETCH 1 BODYSTRUCTURE")[0]
    quoted_name = b"{%d}\r\n%s" % (len(name), name)
    assert line == (
        b'* 1 FETCH (BODYSTRUCTURE ("application" "pdf" ("name" %s) NIL {%d}\r\n%s "base64" 14'
        b' NIL ("attachment" ("filename" %s)) NIL NIL))'
        % (quoted_name, len(description), description, quoted_name)
    )


# -- keywords and the FLAGS response ----------------------------------------------------------


def test_keywords_from_other_sessions_are_announced_in_flags_first(
    harness: ServerHarness, conn: Conn
) -> None:
    """RFC 3501 7.2.6: a FETCH never shows a keyword the FLAGS response did not name."""
    mailbox(conn, b"kw-announce", crlf(b"Subject: k\n\nx\n"))
    other = Conn(harness)
    try:
        other.ok(b"SELECT kw-announce")
        other.ok(b"STORE 1 +FLAGS ($FromOther)")
        lines = conn.ok(b"NOOP")
        assert lines[0].startswith(b"* FLAGS (") and b"$FromOther" in lines[0], lines
        # and PERMANENTFLAGS with it, as Dovecot does
        assert lines[1].startswith(b"* OK [PERMANENTFLAGS (") and b"$FromOther" in lines[1]
        assert lines[2] == b"* 1 FETCH (UID 1 FLAGS ($FromOther \\Recent))"
        other.ok(b"APPEND kw-announce ($Appended) {6+}\r\nX: y\r\n")
        lines = conn.ok(b"NOOP")
        assert lines[0].startswith(b"* FLAGS (") and b"$Appended" in lines[0], lines
        assert lines[2] == b"* 2 EXISTS"
        own = conn.ok(b"APPEND kw-announce ($Mine) {6+}\r\nX: z\r\n")
        assert own[0].startswith(b"* FLAGS (") and b"$Mine" in own[0], own
        assert conn.ok(b"NOOP") == []
    finally:
        other.close()


def test_append_date_day_may_have_one_digit(conn: Conn) -> None:
    """date-day-fixed is " 1" or "01"; "1-Feb-2024" is accepted too (Postel, as Dovecot)."""
    conn.ok(b"CREATE append-day")
    for date in (b" 1-Feb-2024", b"01-Feb-2024", b"1-Feb-2024"):
        conn.ok(b'APPEND append-day "%s 10:00:00 +0000" {6+}\r\nx: y\r\n' % date)
    assert (
        conn.status(b'APPEND append-day "123-Feb-2024 10:00:00 +0000" {6+}\r\nx: y\r\n') == b"BAD"
    )
    conn.ok(b"SELECT append-day")
    assert conn.ok(b"FETCH 1:3 INTERNALDATE") == [
        b'* %d FETCH (INTERNALDATE " 1-Feb-2024 10:00:00 +0000")' % n for n in (1, 2, 3)
    ]


# -- mailbox names ----------------------------------------------------------------------------


def test_rename_creates_the_superior_mailboxes(conn: Conn) -> None:
    """RFC 3501 6.3.5: RENAME, like CREATE, creates the missing superiors of the new name."""
    conn.ok(b"CREATE ren-src/child")
    conn.ok(b"RENAME ren-src ren-dst/deep")
    assert conn.ok(b'LIST "" ren-*') == [
        b'* LIST (\\HasChildren) "/" ren-dst',
        b'* LIST (\\HasChildren) "/" ren-dst/deep',
        b'* LIST (\\HasNoChildren) "/" ren-dst/deep/child',
    ]
    conn.ok(b"SELECT ren-dst")
    assert conn.status(b"RENAME ren-dst/deep ren-src") == b"OK"
