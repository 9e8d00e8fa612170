"""Recipient resolution: accounts, aliases (one to many, remote), catch-all, plus tags."""

from __future__ import annotations

import pytest

from mailrs.accounts.aliases import add_alias, delete_alias, list_aliases
from mailrs.accounts.resolve import Resolution, resolve_recipient
from mailrs.accounts.users import add_user
from mailrs.db.engine import Database
from mailrs.errors import InvalidAddress
from mailrs.store.maildir import MaildirStore

DOMAINS = ("example.test",)


@pytest.fixture
def session(database: Database, store: MaildirStore):  # type: ignore[no-untyped-def]
    with database.session() as session:
        for name in ("alice", "bob", "carol"):
            add_user(session, store, f"{name}@example.test", f"{name} password 123")
        add_user(session, store, "dave@other.test", "dave password 123")
        add_alias(session, "team@example.test", "alice@example.test")
        add_alias(session, "team@example.test", "bob@example.test")
        add_alias(session, "team@example.test", "partner@remote.test")
        add_alias(session, "all@example.test", "team@example.test")
        add_alias(session, "all@example.test", "carol@example.test")
        add_alias(session, "loop1@example.test", "loop2@example.test")
        add_alias(session, "loop2@example.test", "loop1@example.test")
        add_alias(session, "loop2@example.test", "carol@example.test")
        session.commit()
        yield session


@pytest.mark.parametrize(
    ("address", "local", "remote"),
    [
        ("alice@example.test", ("alice@example.test",), ()),
        ("ALICE@Example.TEST", ("alice@example.test",), ()),
        ("alice+news@example.test", ("alice@example.test",), ()),
        ("team@example.test", ("alice@example.test", "bob@example.test"), ("partner@remote.test",)),
        (
            "team+x@example.test",
            ("alice@example.test", "bob@example.test"),
            ("partner@remote.test",),
        ),
        (
            "all@example.test",
            ("alice@example.test", "bob@example.test", "carol@example.test"),
            ("partner@remote.test",),
        ),
        ("loop1@example.test", ("carol@example.test",), ()),
        ("dave@other.test", ("dave@other.test",), ()),  # a domain from the domains table
        ("someone@remote.test", (), ("someone@remote.test",)),
    ],
)
def test_resolution(session, address: str, local: tuple[str, ...], remote: tuple[str, ...]) -> None:  # type: ignore[no-untyped-def]
    result = resolve_recipient(session, address, DOMAINS)
    assert result is not None
    assert sorted(result.local) == sorted(local) and result.remote == remote


@pytest.mark.parametrize(
    "address",
    [
        "nobody@example.test",
        "nobody+tag@example.test",
        '"alice"@example.test',
        "user%remote.test@example.test",
        "no-at-sign",
        "",
    ],
)
def test_unknown_or_malformed_local_addresses(session, address: str) -> None:  # type: ignore[no-untyped-def]
    assert resolve_recipient(session, address, DOMAINS) is None


def test_catch_all_takes_only_unknown_addresses(session) -> None:  # type: ignore[no-untyped-def]
    add_alias(session, "@example.test", "carol@example.test")
    assert resolve_recipient(session, "whoever@example.test", DOMAINS) == Resolution(
        ("carol@example.test",)
    )
    assert resolve_recipient(session, "alice@example.test", DOMAINS) == Resolution(
        ("alice@example.test",)
    )
    assert delete_alias(session, "@EXAMPLE.test") == 1
    assert resolve_recipient(session, "whoever@example.test", DOMAINS) is None


def test_disabled_accounts_are_unknown(session) -> None:  # type: ignore[no-untyped-def]
    from mailrs.accounts.users import find_user

    user = find_user(session, "bob@example.test")
    assert user is not None
    user.disabled = True
    assert resolve_recipient(session, "bob@example.test", DOMAINS) is None
    assert "bob@example.test" not in resolve_recipient(session, "team@example.test", DOMAINS).local  # type: ignore[union-attr]


def test_alias_admin(session) -> None:  # type: ignore[no-untyped-def]
    before = len(list_aliases(session))
    add_alias(session, "Team@Example.test", "ALICE@example.test")  # already there
    assert len(list_aliases(session)) == before
    assert delete_alias(session, "team@example.test", "bob@example.test") == 1
    assert delete_alias(session, "team@example.test") == 2
    for bad in ("../x@example.test", "a/b@example.test", "@", "x@"):
        with pytest.raises(InvalidAddress):
            add_alias(session, bad, "alice@example.test")
