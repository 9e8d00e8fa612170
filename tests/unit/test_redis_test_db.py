"""Each pytest-xdist worker flushes its own Redis database: base + worker index, in 0..15."""

from __future__ import annotations

import pytest
from support.brokers import worker_redis_db


@pytest.mark.parametrize(
    ("base", "worker", "expected"),
    [(11, "", 11), (11, "gw0", 11), (11, "gw1", 12), (1, "gw3", 4), (0, "gw15", 15)],
)
def test_worker_adds_its_index_to_the_base(base: int, worker: str, expected: int) -> None:
    assert worker_redis_db(base, worker) == expected


@pytest.mark.parametrize(("base", "worker"), [(14, "gw2"), (-1, ""), (16, "")])
def test_a_database_outside_0_to_15_is_refused_with_the_reason(base: int, worker: str) -> None:
    with pytest.raises(ValueError, match=r"outside 0\.\.15.*MAILRS_TEST_REDIS_DB"):
        worker_redis_db(base, worker)
