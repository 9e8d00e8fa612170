"""The order in which MX hosts are tried."""

from __future__ import annotations

import random

from mailrs.outbound.mx import order_exchanges


def test_mx_order_is_by_preference_and_random_among_equals() -> None:
    records = [(20, "c"), (10, "a"), (10, "b"), (30, "d")]
    orders = {tuple(h for _, h in order_exchanges(records, random.Random(s))) for s in range(50)}
    assert orders == {("a", "b", "c", "d"), ("b", "a", "c", "d")}
