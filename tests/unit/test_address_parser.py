"""One address parser (``mailrs.addresses.parse_address``) and one error (``InvalidAddress``)."""

from __future__ import annotations

import email.utils

import pytest

from mailrs.accounts.resolve import resolve_recipient
from mailrs.accounts.users import add_user
from mailrs.addresses import parse_address
from mailrs.config import Settings
from mailrs.db.engine import Database
from mailrs.errors import InvalidAddress, MailrsError
from mailrs.store.maildir import MaildirStore
from web.mailservice.compose import parse_addresses
from web.mailservice.errors import BadInput, SendRefused
from web.mailservice.sending import check_recipients

VALID = [
    ("alice@example.test", "alice", "example.test"),
    ("Alice.B+tag@EXAMPLE.Test.", "Alice.B+tag", "example.test"),
    ("josé@bücher.test", "josé", "xn--bcher-kva.test"),
    ("o'brien@a-b.example", "o'brien", "a-b.example"),
    ("x@localhost", "x", "localhost"),
]
INVALID = [
    "",
    "alice",
    "@example.test",
    "alice@",
    "a b@example.test",
    "a..b@example.test",
    ".a@example.test",
    "a@@example.test",
    "a@exa mple.test",
    "a@-bad.test",
    "a@bad_.test",
    "<a@example.test>",
    "a,b@example.test",
    "a;b@example.test",
    "a\r\nb@example.test",
    f"{'x' * 65}@example.test",
    f"a@{'d' * 250}.test",
]


@pytest.mark.parametrize(("text", "local", "domain"), VALID)
def test_valid_addresses(text: str, local: str, domain: str) -> None:
    parsed = parse_address(text)
    assert (parsed.local, parsed.domain) == (local, domain)
    assert str(parsed) == f"{local}@{domain}"


@pytest.mark.parametrize("text", INVALID)
def test_invalid_addresses_raise_invalid_address(text: str) -> None:
    with pytest.raises(InvalidAddress):
        parse_address(text)


def test_invalid_address_is_the_cross_layer_error() -> None:
    assert issubclass(InvalidAddress, MailrsError)
    assert not issubclass(InvalidAddress, ValueError)  # no generic handler swallows it


# Compose reads header syntax first ("Name <addr>", lists, folding); every bare address
# that reading hands over intact is then judged by the core parser.
HANDED_OVER = [t for t in INVALID if email.utils.getaddresses([t]) == [("", t)]]


@pytest.mark.parametrize("text", [*HANDED_OVER, "not an address", "Bob <bob@-x.test>"])
def test_web_compose_refuses_what_the_parser_refuses(text: str) -> None:
    with pytest.raises(BadInput, match="not an email address"):
        parse_addresses([text])


def test_web_compose_keeps_what_the_parser_accepts() -> None:
    texts = [text for text, _, _ in VALID]
    assert parse_addresses(texts) == tuple(texts)
    assert parse_addresses("Alice <alice@example.test>, bob@remote.test") == (
        "alice@example.test",
        "bob@remote.test",
    )


def test_resolution_and_sending_read_addresses_the_same_way(
    settings: Settings, database: Database, store: MaildirStore
) -> None:
    domains = settings.smtp.local_domains
    with database.session() as session:
        add_user(session, store, "alice@example.test", "alice password")
        resolution = resolve_recipient(session, "Alice@Example.Test.", domains)
        assert resolution is not None and resolution.local == ("alice@example.test",)
        remote = resolve_recipient(session, "josé@bücher.test", domains)
        assert remote is not None and remote.remote == ("josé@xn--bcher-kva.test",)
        for text in INVALID:
            assert resolve_recipient(session, text, domains) is None
        check_recipients(session, settings, ("alice@example.test", "bob@remote.test"))
        with pytest.raises(SendRefused, match="not an email address"):
            check_recipients(session, settings, ("alice@example.test", "a..b@remote.test"))
        with pytest.raises(SendRefused, match="no such mailbox"):
            check_recipients(session, settings, ("ghost@example.test",))
