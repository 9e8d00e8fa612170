"""Argon2id at a test cost for the unit tier.

The production cost (64 MiB, three passes) takes about half a second per hash on a busy
machine, and a unit test that adds three users spends most of its time there. The unit
tier hashes with the same algorithm and library at the lowest cost argon2-cffi allows;
the integration tier keeps the production cost.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from argon2 import PasswordHasher

from mailrs.accounts import passwords

TEST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
TEST_DUMMY_HASH = TEST_HASHER.hash("not-a-real-password")


@contextmanager
def cheap_argon2() -> Iterator[None]:
    """Hash and verify passwords with Argon2id at test cost while the block runs."""
    saved = passwords._HASHER, passwords._DUMMY_HASH
    passwords._HASHER, passwords._DUMMY_HASH = TEST_HASHER, TEST_DUMMY_HASH
    try:
        yield
    finally:
        passwords._HASHER, passwords._DUMMY_HASH = saved
