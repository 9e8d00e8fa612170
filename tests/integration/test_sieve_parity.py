"""Behaviour parity with Dovecot's Pigeonhole: the same scripts and messages through
``sieve-test`` and through our interpreter must perform the same actions.

Every extension the issue lists is in a script here but ``ereject``, which Debian's
Pigeonhole (0.5.19) does not know at all; it is covered by the interpreter's unit tests."""

from __future__ import annotations

import datetime as dt
import getpass
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

import pytest
from support.services import require_tool

from mailrs.sieve.evaluate import Delivery, run
from mailrs.sieve.grammar import parse_script

SENDER, RECIPIENT = "alice@example.org", "bob+lists@example.com"
MESSAGES = {
    "report": (
        b"From: Alice <alice@example.org>\r\nTo: bob+lists@example.com\r\n"
        b"Cc: carol@example.com\r\nSubject: [Project] weekly report\r\n"
        b"Date: Tue, 03 Mar 2026 14:05:00 +0100\r\nMessage-ID: <r1@example.org>\r\n"
        b"X-Priority: 2\r\n\r\nThe numbers are in. Budget approved.\r\n"
    ),
    "plain": (
        b"From: dave@elsewhere.test\r\nTo: bob@example.com\r\nSubject: lunch?\r\n"
        b"Date: Sun, 01 Feb 2026 09:00:00 +0000\r\nMessage-ID: <p1@elsewhere.test>\r\n\r\n"
        b"Noon at the usual place.\r\n"
    ),
}
HEAD = (
    'require ["fileinto", "imap4flags", "vacation", "envelope", "variables", "relational",'
    ' "date", "body", "copy", "mailbox", "subaddress", "reject",'
    ' "comparator-i;ascii-numeric"];\n'
)
SCRIPTS = {
    "fileinto_flags": 'if header :contains "subject" "report" '
    '{ fileinto :flags ["\\\\Seen", "\\\\Flagged"] "Reports"; stop; }',
    "copy_keep_flags": 'addflag "\\\\Flagged"; fileinto :copy "Archive";',
    "discard": 'if body :contains "budget" { discard; }',
    "envelope_subaddress": 'if envelope :detail "to" "lists" { fileinto "Lists"; }'
    ' elsif envelope :domain "from" "elsewhere.test" { fileinto "Others"; }',
    "variables": 'if header :matches "subject" "[*] *" { set :lower "l" "${1}";'
    ' fileinto "lists.${l}"; }',
    "relational": 'if address :count "ge" :comparator "i;ascii-numeric" ["to", "cc"] "2"'
    ' { fileinto "Many"; }'
    ' if header :value "lt" :comparator "i;ascii-numeric" "x-priority" "3"'
    ' { addflag "\\\\Flagged"; keep; }',
    "date": 'if date :zone "+0000" "date" "date" "2026-03-03" { fileinto "March3"; }',
    "redirect": 'redirect "archive@example.net"; redirect :copy "copy@example.net";',
    "reject": 'if header :contains "subject" "lunch" { reject "not today"; }',
    "vacation": 'vacation :days 3 :subject "Away" :addresses ["bob@example.com"] "I am away.";',
    "keywords": 'addflag ["$Label1", "\\\\Seen"]; removeflag "\\\\Seen";'
    ' if hasflag :is "$label1" { fileinto "Labelled"; }',
    "setflag_keep": 'setflag ["\\\\Answered", "$Work"]; keep;',
    "currentdate": 'if currentdate :zone "+0000" :value "ge" "date" "2026-01-01"'
    ' { fileinto "ThisYear"; }',
    "body_text_variables": 'if body :text :matches "*Budget *." { set "what" "${2}";'
    ' fileinto "budget-${what}"; }',
}


def ours(script: str, data: bytes) -> set[tuple[str, ...]]:
    """The actions our interpreter performs, normalised."""
    message = message_from_bytes(data, policy=default_policy)
    assert isinstance(message, EmailMessage)
    now = dt.datetime(2026, 3, 4, tzinfo=dt.UTC)
    out = run(parse_script(HEAD + script), Delivery(message, len(data), SENDER, RECIPIENT, now))
    acts: set[tuple[str, ...]] = set()
    for store in out.stores:
        acts.add(("store", store.mailbox, " ".join(sorted(f.lower() for f in store.flags))))
    acts |= {("redirect", r.address) for r in out.redirects}
    if out.reject:
        acts.add(("reject",))
    if out.vacation:
        acts.add(("vacation", out.vacation.subject))
    return acts


def pigeonhole(tool: str, workdir: Path, script: str, data: bytes) -> set[tuple[str, ...]]:
    """The actions ``sieve-test`` reports, normalised the same way."""
    (workdir / "s.sieve").write_text(HEAD + script)
    (workdir / "m.eml").write_bytes(data)
    done = subprocess.run(
        [tool, "-c", str(workdir / "dovecot.conf"), "-f", SENDER, "-a", RECIPIENT]
        + ["-x", "+vacation-seconds", str(workdir / "s.sieve"), str(workdir / "m.eml")],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "TZ": "UTC"},
    )
    assert done.returncode == 0, done.stderr
    acts: set[tuple[str, ...]] = set()
    lines = done.stdout.splitlines()
    for i, line in enumerate(lines):
        if found := re.match(r"\s*\* store message in folder: (.+)", line):
            flags = ""
            for detail in lines[i + 1 :]:
                if not detail.strip().startswith("+"):
                    break
                if added := re.match(r"\s*\+ add IMAP flags: (.+)", detail):
                    flags = " ".join(sorted(added.group(1).lower().split()))
            acts.add(("store", found.group(1).strip(), flags))
        elif found := re.match(r"\s*\* redirect message to: (.+)", line):
            acts.add(("redirect", found.group(1).strip().strip("<>")))
        elif re.match(r"\s*\* reject message", line):
            acts.add(("reject",))
        elif re.match(r"\s*\* send vacation message", line):
            subject = next(
                (
                    m.group(1)
                    for m in (re.match(r"\s*=> subject : (.*)", x) for x in lines[i:])
                    if m
                ),
                "",
            )
            acts.add(("vacation", subject.strip()))
    return acts


@pytest.fixture(scope="module")
def sieve_test() -> Iterator[tuple[str, Path]]:
    tool = require_tool("sieve-test")
    workdir = Path(tempfile.mkdtemp(prefix="mailrs-pigeonhole-"))
    workdir.chmod(0o777)  # sieve-test run by root drops to nobody, who must read (and cache)
    if os.getuid() == 0:
        owner = "mail_uid = nobody\nmail_gid = nogroup\n"
    else:
        owner = f"mail_uid = {getpass.getuser()}\n"
    (workdir / "dovecot.conf").write_text(
        owner + f"mail_location = maildir:{workdir}/Maildir\nfirst_valid_uid = 1\n"
    )
    try:
        yield tool, workdir
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.mark.parametrize("message", sorted(MESSAGES))
@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_same_actions_as_pigeonhole(sieve_test: tuple[str, Path], name: str, message: str) -> None:
    tool, workdir = sieve_test
    data = MESSAGES[message]
    assert ours(SCRIPTS[name], data) == pigeonhole(tool, workdir, SCRIPTS[name], data)
