"""The unit tier: no sockets, no child processes; the guard makes either fail loudly.

The guard is on during every phase of every test here, including the set-up of module-
and session-scoped fixtures the test is the first to need (an autouse fixture would come
too late for those). Passwords are hashed with Argon2id at test cost (``support.passwords``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.isolation import no_network_no_processes
from support.passwords import cheap_argon2


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    """Fixture set-up runs under the guard."""
    with no_network_no_processes(), cheap_argon2():
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """The test body runs under the guard."""
    with no_network_no_processes(), cheap_argon2():
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """Fixture tear-down runs under the guard."""
    with no_network_no_processes(), cheap_argon2():
        return (yield)
