"""The cache of verified credentials: hits, misses, password change and expiry."""

from __future__ import annotations

import time

import pytest

from mailrs.accounts.credential_cache import CredentialCache
from mailrs.accounts.passwords import hash_password
from mailrs.accounts.users import Credentials, check_credentials
from mailrs.errors import AuthFailed

ADDRESS = "alice@example.test"


def test_a_verified_password_is_remembered_and_nothing_else() -> None:
    cache = CredentialCache()
    stored = hash_password("right password")
    assert not cache.recently_verified(ADDRESS, stored, "right password")
    assert not cache.verify(ADDRESS, stored, "wrong password")
    assert not cache.recently_verified(ADDRESS, stored, "wrong password")  # failures not kept
    assert cache.verify(ADDRESS, stored, "right password")
    assert cache.recently_verified(ADDRESS, stored, "right password")
    assert cache.recently_verified(ADDRESS.upper(), stored, "right password")
    assert not cache.recently_verified("bob@example.test", stored, "right password")
    assert not cache.recently_verified(ADDRESS, None, "right password")


def test_a_password_change_drops_the_entry() -> None:
    cache = CredentialCache()
    old = hash_password("old password")
    assert cache.verify(ADDRESS, old, "old password")
    new = hash_password("new password")
    assert not cache.recently_verified(ADDRESS, new, "old password")
    assert not cache.verify(ADDRESS, new, "old password")


def test_entries_expire_and_the_size_is_bounded() -> None:
    stored = hash_password("right password")
    short = CredentialCache(ttl=0.05)
    short.remember(ADDRESS, stored, "right password")
    time.sleep(0.1)
    assert not short.recently_verified(ADDRESS, stored, "right password")
    small = CredentialCache(max_entries=2)
    for n in range(3):
        small.remember(f"u{n}@example.test", stored, "pw")
    assert not small.recently_verified("u0@example.test", stored, "pw")
    assert small.recently_verified("u2@example.test", stored, "pw")
    off = CredentialCache(ttl=0)
    off.remember(ADDRESS, stored, "right password")
    assert not off.recently_verified(ADDRESS, stored, "right password")


def test_check_credentials_refuses_missing_disabled_and_wrong() -> None:
    cache = CredentialCache()
    stored = hash_password("right password")
    good = Credentials(ADDRESS, stored, disabled=False)
    assert check_credentials(good, "right password", cache.verify) == ADDRESS
    for found, password in (
        (None, "right password"),
        (Credentials(ADDRESS, stored, disabled=True), "right password"),
        (good, "wrong password"),
    ):
        with pytest.raises(AuthFailed):
            check_credentials(found, password, cache.verify)
