"""``mailrs.shared_counts`` across forked processes: one limit for all of them."""

from __future__ import annotations

import os

from mailrs.shared_counts import SharedCounts


def test_forked_processes_share_the_counts_and_the_limit() -> None:
    counts = SharedCounts(16)
    children = []
    for _ in range(4):
        pid = os.fork()
        if pid == 0:  # each child takes as many as the limit lets it
            code = sum(counts.take("ip:1", 150) for _ in range(100))
            os._exit(code)
        children.append(pid)
    taken = [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in children]
    assert sum(taken) == 150
    assert counts.count("ip:1") == 150
