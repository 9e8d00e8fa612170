"""LIST patterns: ``*`` matches anything, ``%`` anything but the hierarchy delimiter.

Matching walks the pattern once over the set of reachable positions in the name
(no backtracking regex), so a hostile pattern costs at most len(pattern) * len(name).
"""

from __future__ import annotations

import re

from mailrs.store.names import DELIMITER, INBOX

_RUNS = re.compile(r"[*%]{2,}")


def combine(reference: str, pattern: str) -> str:
    """The pattern to match: the reference name followed by the mailbox pattern."""
    full = reference + pattern if pattern else ""
    head, sep, rest = full.partition(DELIMITER)
    if head.upper() == INBOX:
        return INBOX + sep + rest
    return full


def _collapse(pattern: str) -> str:
    """Replace each run of wildcards by ``*`` if it holds one, else by ``%``."""
    return _RUNS.sub(lambda m: "*" if "*" in m.group(0) else "%", pattern)


def matches(pattern: str, name: str) -> bool:
    """True when the mailbox ``name`` matches the LIST ``pattern``."""
    positions = {0}
    size = len(name)
    for token in _collapse(pattern):
        if token == "*":
            positions = set(range(min(positions), size + 1))
        elif token == "%":
            reach: set[int] = set()
            for start in sorted(positions):
                end = start
                reach.add(end)
                while end < size and name[end] != DELIMITER and end + 1 not in reach:
                    end += 1
                    reach.add(end)
            positions = reach
        else:
            positions = {p + 1 for p in positions if p < size and name[p] == token}
        if not positions:
            return False
    return size in positions
