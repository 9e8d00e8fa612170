"""The Sieve interpreter over scripts parsed by sievelib and real messages."""

from __future__ import annotations

import datetime as dt
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy

import pytest

from mailrs.sieve.actions import FileInto, Redirect, Reject
from mailrs.sieve.evaluate import Delivery, run
from mailrs.sieve.grammar import SieveSyntaxError, check_script, parse_script

ALL = (
    'require ["fileinto", "imap4flags", "vacation", "envelope", "variables", "relational",'
    ' "date", "body", "copy", "mailbox", "subaddress", "reject", "ereject",'
    ' "comparator-i;ascii-numeric"];\n'
)

MESSAGE = (
    b"From: Alice Example <alice@example.org>\r\n"
    b"To: bob+lists@example.com, carol@example.com\r\n"
    b"Subject: [Project] weekly report\r\n"
    b"Date: Tue, 03 Mar 2026 14:05:00 +0100\r\n"
    b"X-Priority: 2\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"\r\n"
    b"The numbers are in. Budget approved.\r\n"
)


def deliver(script: str, data: bytes = MESSAGE, rcpt: str = "bob+lists@example.com"):
    """Parse and run a script over a message."""
    message = message_from_bytes(data, policy=default_policy)
    assert isinstance(message, EmailMessage)
    delivery = Delivery(
        message=message,
        size=len(data),
        mail_from="alice@example.org",
        rcpt_to=rcpt,
        now=dt.datetime(2026, 3, 4, 9, 30, tzinfo=dt.UTC),
    )
    return run(parse_script(ALL + script), delivery)


def test_no_script_action_keeps_in_inbox() -> None:
    """An empty script is an implicit keep."""
    assert deliver("").stores == [FileInto("INBOX")]


def test_fileinto_with_flags_cancels_keep() -> None:
    """fileinto :create :flags files the message once, flagged, and not in INBOX."""
    out = deliver(
        'if header :contains "subject" "[project]" '
        '{ fileinto :create :flags ["\\\\Seen", "$Work"] "Projects"; stop; } keep;'
    )
    assert out.stores == [FileInto("Projects", ("\\Seen", "$Work"), create=True)]


def test_copy_keeps_implicit_keep_and_internal_flags() -> None:
    """fileinto :copy leaves the implicit keep, which carries addflag's flags."""
    out = deliver('addflag "\\\\Flagged"; fileinto :copy "Archive";')
    assert out.stores == [
        FileInto("INBOX", ("\\Flagged",)),
        FileInto("Archive", ("\\Flagged",)),
    ]


def test_setflag_removeflag_and_hasflag() -> None:
    """The internal flag variable follows setflag/addflag/removeflag."""
    out = deliver(
        'setflag ["\\\\Seen \\\\Answered"]; removeflag "\\\\answered";'
        ' if hasflag :is "\\\\seen" { fileinto "Read"; }'
    )
    assert out.stores == [FileInto("Read", ("\\Seen",))]


def test_envelope_address_parts_and_subaddress() -> None:
    """envelope with :domain, :user and :detail (RFC 5233)."""
    out = deliver(
        'if allof (envelope :domain "from" "example.org",'
        ' envelope :user "to" "bob", envelope :detail "to" "lists")'
        ' { fileinto "Lists"; }'
    )
    assert out.stores == [FileInto("Lists")]
    plain = deliver('if envelope :detail "to" "" { discard; }', rcpt="bob@example.com")
    assert plain.stores == [FileInto("INBOX")]  # no detail: the test is false


def test_address_header_localpart() -> None:
    """address :localpart over a header with two addresses."""
    out = deliver('if address :localpart :is "to" "carol" { fileinto "Carol"; }')
    assert out.stores == [FileInto("Carol")]


def test_matches_sets_variables() -> None:
    """:matches captures feed ${1}; set with modifiers (RFC 5229)."""
    out = deliver(
        'if header :matches "subject" "[*] *" { set :lower "list" "${1}"; }'
        ' fileinto "lists/${list}";'
    )
    assert out.stores == [FileInto("lists/project")]


def test_relational_count_and_numeric_value() -> None:
    """:count counts addresses; :value with i;ascii-numeric compares numbers."""
    out = deliver(
        'if address :count "ge" :comparator "i;ascii-numeric" "to" "2" { addflag "many"; }'
        ' if header :value "lt" :comparator "i;ascii-numeric" "x-priority" "3"'
        ' { fileinto "Urgent"; }'
    )
    assert out.stores == [FileInto("Urgent", ("many",))]


def test_body_and_size() -> None:
    """body :contains searches the decoded text; size compares with quantifiers."""
    out = deliver('if allof (body :contains "budget", size :under 1K) { discard; }')
    assert out.discarded and out.stores == []


def test_date_and_currentdate() -> None:
    """date reads the Date header (in UTC here); currentdate reads the delivery time."""
    out = deliver(
        'if date :value "ge" "date" "date" "2026-03-01" { addflag "march"; }'
        ' if date :zone "+0100" "date" "hour" "14" { addflag "fourteen"; }'
        ' if currentdate :is "weekday" "3" { fileinto "Wednesday"; }'
    )
    assert out.stores == [FileInto("Wednesday", ("march", "fourteen"))]


def test_redirect_reject_and_ereject() -> None:
    """redirect (with :copy) and reject are reported; reject cancels the keep."""
    out = deliver('redirect :copy "archive@example.net";')
    assert out.redirects == [Redirect("archive@example.net")]
    assert out.stores == [FileInto("INBOX")]
    out = deliver('ereject "not here";')
    assert out.reject == Reject("not here", extended=True)
    assert out.stores == []


def test_vacation_parameters() -> None:
    """vacation's :days, :subject and :addresses reach the outcome."""
    out = deliver(
        'vacation :days 3 :subject "Away" :addresses ["bob@example.com"] text:\n'
        "I am away until Monday.\n.\n;"
    )
    assert out.vacation is not None
    assert out.vacation.days == 3 and out.vacation.subject == "Away"
    assert out.vacation.addresses == ("bob@example.com",)
    assert out.vacation.reason == "I am away until Monday.\n"
    assert out.stores == [FileInto("INBOX")]


def test_runtime_error_keeps_message() -> None:
    """A bad zone is a run-time error: the message is kept, the error reported."""
    out = deliver('if date :zone "nowhere" "date" "hour" "1" { discard; }')
    assert out.stores == [FileInto("INBOX")] and out.error


@pytest.mark.parametrize(
    "script",
    [
        'fileinto "x";',  # fileinto not required
        'require "fileinto"; fileinto;',
        'require "nosuchext";',
        "if true { keep; ",
    ],
)
def test_bad_scripts_are_refused(script: str) -> None:
    """Scripts that do not parse, or need what we lack, are refused with a reason."""
    with pytest.raises(SieveSyntaxError):
        parse_script(script)
    assert check_script(script)
