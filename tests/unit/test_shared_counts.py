"""``mailrs.shared_counts`` in one process: limits, slots reused, no lost count (across
forked processes: ``tests/integration/test_shared_counts_fork.py``)."""

from __future__ import annotations

from mailrs.shared_counts import SharedCounts


def test_take_stops_at_the_limit_and_give_makes_room() -> None:
    counts = SharedCounts(16)
    assert [counts.take("ip:1", 3) for _ in range(4)] == [True, True, True, False]
    assert counts.count("ip:1") == 3
    counts.give("ip:1")
    assert counts.take("ip:1", 3)
    assert counts.count("ip:2") == 0
    counts.give("ip:2")  # never taken: nothing happens
    assert counts.count("ip:2") == 0


def test_many_keys_come_and_go_without_filling_the_table() -> None:
    counts = SharedCounts(8)
    for n in range(10_000):
        assert counts.take(f"user{n}", 1)
        counts.give(f"user{n}")
    live = [f"live{n}" for n in range(8)]
    assert all(counts.take(key, 1) for key in live)
    assert all(counts.count(key) == 1 for key in live)


def test_a_full_table_refuses_new_keys_and_keeps_the_old() -> None:
    counts = SharedCounts(4)  # 64 slots: room for 48 live keys
    taken = [key for key in (f"k{n}" for n in range(100)) if counts.take(key, 5)]
    assert 8 <= len(taken) < 100
    assert all(counts.count(key) == 1 for key in taken)
    counts.give(taken[0])
    assert counts.take("fresh", 5)


def test_set_is_a_gauge() -> None:
    counts = SharedCounts(8)
    counts.set("proc:0", 5)
    counts.set("proc:0", 2)
    assert counts.count("proc:0") == 2
    counts.set("proc:1", 0)
    assert counts.count("proc:1") == 0
