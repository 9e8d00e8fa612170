"""IMAP URLs with URLAUTH (RFC 5092, RFC 4467): parsing, tokens, access rules, grammar."""

from __future__ import annotations

import datetime as dt

import pytest

from imapd import urlauth
from imapd.errors import ParseError
from imapd.imap_url import BadUrl, parse
from imapd.parsed import UrlFetch
from imapd.parser import parse_command

RUMP = "imap://joe@example.com/INBOX/;uid=20/;section=1.2;urlauth=submit+fred"


def test_a_rump_url_and_its_parts() -> None:
    url = parse(RUMP)
    assert (url.owner, url.host, url.mailbox, url.uid, url.section) == (
        "joe@example.com",
        "example.com",
        "INBOX",
        20,
        "1.2",
    )
    assert (url.access_kind, url.access_user, url.rump, url.token) == ("submit", "fred", RUMP, None)


def test_an_authorized_url_keeps_its_rump_and_token() -> None:
    token = "01" + "ab" * 32
    url = parse(f"{RUMP}:internal:{token}")
    assert url.rump == RUMP and url.mechanism == "internal" and url.token == token


def test_userinfo_with_a_domain_and_percent_encoding() -> None:
    url = parse("imap://a%40b.test@host.test/Caf%C3%A9;UIDVALIDITY=7/;UID=3;URLAUTH=authuser")
    assert (url.owner, url.mailbox, url.uidvalidity, url.access_kind) == (
        "a@b.test",
        "Café",
        7,
        "authuser",
    )


def test_expiry() -> None:
    url = parse("imap://a@h/INBOX/;uid=1;expire=2030-01-01T00:00:00Z;urlauth=anonymous")
    assert url.expire == dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    assert not url.expired(dt.datetime(2029, 12, 31, tzinfo=dt.UTC))
    assert url.expired(dt.datetime(2030, 1, 1, tzinfo=dt.UTC))


@pytest.mark.parametrize(
    "text",
    [
        "",
        "http://a@h/INBOX/;uid=1",
        "imap://h/INBOX/;uid=1;urlauth=authuser",  # no user
        "imap://a@h/INBOX/;uid=0;urlauth=authuser",
        "imap://a@h/INBOX;urlauth=authuser",
        "imap://a@h/INBOX/;uid=1;urlauth=user+",
        "imap://a@h/INBOX/;uid=1;urlauth=authuser+x",
        "imap://a@h/INBOX/;uid=1;expire=tomorrow;urlauth=authuser",
        "imap://a@h/INBOX/;uid=1;expire=2030-01-01T00:00:00;urlauth=authuser",  # no zone
        "imap://a@h/IN%FFBOX/;uid=1;urlauth=authuser",
        "imap://a@h/INBOX/;uid=1;urlauth=authuser:internal:abc",  # token too short
        "imap://a@h/INBOX/;uid=1 ;urlauth=authuser",
        "imap://a@h/INBOX/;uid=1;urlauth=authuser" + "0" * 9000,
    ],
)
def test_malformed_urls(text: str) -> None:
    with pytest.raises(BadUrl):
        parse(text)


def test_token_depends_on_key_uidvalidity_and_rump() -> None:
    key = b"k" * 32
    url = parse(f"{RUMP}:internal:{urlauth.token(key, 5, RUMP)}")
    assert urlauth.verify(key, 5, url)
    assert not urlauth.verify(b"x" * 32, 5, url)
    assert not urlauth.verify(key, 6, url)
    assert not urlauth.verify(None, 5, url)
    other = RUMP.replace("uid=20", "uid=21")
    assert not urlauth.verify(key, 5, parse(f"{other}:internal:{url.token}"))


@pytest.mark.parametrize(
    ("access", "user", "allowed"),
    [
        ("anonymous", None, True),
        ("authuser", None, False),
        ("authuser", "bob@h.test", True),
        ("user+bob@h.test", "bob@h.test", True),
        ("user+bob@h.test", "BOB@h.test", True),
        ("user+bob", "bob@h.test", True),  # no domain: the URL's host
        ("user+bob@h.test", "eve@h.test", False),
        ("submit+bob@h.test", "bob@h.test", False),
    ],
)
def test_who_may_fetch(access: str, user: str | None, allowed: bool) -> None:
    url = parse(f"imap://alice@h.test/INBOX/;uid=1;urlauth={access}")
    assert urlauth.may_fetch(url, user) is allowed


def test_grammar() -> None:
    assert parse_command(b'a GENURLAUTH "u1" INTERNAL u2 internal').args.pairs == (  # type: ignore[union-attr]
        ("u1", "INTERNAL"),
        ("u2", "internal"),
    )
    assert parse_command(b"a RESETKEY").args.mailbox is None  # type: ignore[union-attr]
    reset = parse_command(b"a RESETKEY INBOX INTERNAL").args
    assert (reset.mailbox, reset.mechanisms) == ("INBOX", ("INTERNAL",))  # type: ignore[union-attr]
    fetch = parse_command(b'a URLFETCH u1 ("u2" binary BODYPARTSTRUCTURE) ("u3")').args
    assert fetch.urls == (  # type: ignore[union-attr]
        UrlFetch("u1"),
        UrlFetch("u2", ("BINARY", "BODYPARTSTRUCTURE")),
        UrlFetch("u3", ("BODY",)),
    )
    for bad in (
        b"a URLFETCH",
        b"a URLFETCH (u BODY BINARY)",
        b"a GENURLAUTH u",
        b"a URLFETCH (u X)",
    ):
        with pytest.raises(ParseError):
            parse_command(bad)
