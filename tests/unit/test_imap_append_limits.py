"""APPEND's size guard and IMAP URL parsing for CATENATE (imapd.commands.append)."""

from __future__ import annotations

import pytest

from imapd.commands.append import MAX_MESSAGE_BYTES, check_size, parse_url
from imapd.errors import CommandFailed
from imapd.parsed import Section


def test_check_size() -> None:
    check_size(MAX_MESSAGE_BYTES)
    with pytest.raises(CommandFailed, match="too large") as raised:
        check_size(MAX_MESSAGE_BYTES + 1)
    assert raised.value.code == "TOOBIG"
    with pytest.raises(CommandFailed):
        check_size(11, limit=10)


def test_parse_url_forms() -> None:
    url = parse_url("/Drafts;UIDVALIDITY=385759045/;UID=20/;SECTION=HEADER")
    assert (url.mailbox, url.uidvalidity, url.uid) == ("Drafts", 385759045, 20)
    assert url.section == Section("HEADER")
    whole = parse_url("imap://alice@example.test/Sent%20Items/;UID=7")
    assert (whole.mailbox, whole.uidvalidity, whole.uid) == ("Sent Items", None, 7)
    assert parse_url("/inbox/;uid=3/;section=1.2.TEXT").section == Section("TEXT", (1, 2))
    assert parse_url("/Caf%C3%A9/;UID=1").mailbox == "Caf\u00e9"
    assert parse_url("/a/;UID=1/;SECTION=TEXT/;PARTIAL=5.10").partial == (5, 10)
    assert parse_url("/a/;UID=1/;PARTIAL=5").partial == (5, None)


@pytest.mark.parametrize(
    "url",
    [
        "Drafts/;UID=1",
        "/Drafts/;UID=0",
        "/Drafts;UIDVALIDITY=0/;UID=1",
        "/Drafts/;UID=1/;SECTION=NOPE",
        "/../x/;UID=1",
        "/a%00b/;UID=1",
        "/Drafts/;UID=1;PARTIAL=0.10",
        "/Drafts/;UID=1/;PARTIAL=1.0",
        "",
    ],
)
def test_bad_urls(url: str) -> None:
    with pytest.raises(CommandFailed) as raised:
        parse_url(url)
    assert raised.value.code == "BADURL"
