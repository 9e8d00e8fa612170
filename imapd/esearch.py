"""ESEARCH responses (RFC 4731), the SEARCHRES ``$`` result (RFC 5182) and PARTIAL (RFC 9394).

``answer`` takes a result in the order the command produced it (ascending for SEARCH,
sort order for ESORT, RFC 5267), stores what SAVE asks for and builds the untagged
``ESEARCH`` line, or None when SAVE is the only option (RFC 5182 section 2.1).
"""

from __future__ import annotations

from collections.abc import Sequence

from imapd.parsed import Returns
from imapd.responses import quoted
from imapd.sequences import compress


def ordered_set(numbers: Sequence[int]) -> str:
    """A sequence set that keeps the numbers' order: ascending runs become ranges."""
    parts: list[str] = []
    index = 0
    while index < len(numbers):
        start = index
        while index + 1 < len(numbers) and numbers[index + 1] == numbers[index] + 1:
            index += 1
        first, last = numbers[start], numbers[index]
        parts.append(str(first) if first == last else f"{first}:{last}")
        index += 1
    return ",".join(parts)


def partial_slice(numbers: Sequence[int], partial: tuple[int, int]) -> list[int]:
    """The results at positions ``first:last`` (negative: counted from the end)."""
    first, last = partial
    if first > 0:
        return list(numbers[first - 1 : last])
    count = len(numbers)
    start, end = count + last, count + first + 1  # -1:-3 is the last three
    return list(numbers[max(start, 0) : max(end, 0)])


def saved_result(numbers: Sequence[int], returns: Returns) -> list[int]:
    """What SAVE stores: MIN and/or MAX alone when asked for, the PARTIAL slice, or all."""
    options = returns.options
    if returns.partial is not None:
        return partial_slice(numbers, returns.partial)
    if numbers and ("MIN" in options or "MAX" in options) and "ALL" not in options:
        chosen = []
        if "MIN" in options:
            chosen.append(numbers[0])
        if "MAX" in options:
            chosen.append(numbers[-1])
        return chosen
    return list(numbers)


def esearch_line(
    tag: str,
    uid: bool,
    numbers: Sequence[int],
    returns: Returns,
    sorted_result: bool = False,
    modseq: int | None = None,
) -> bytes | None:
    """``* ESEARCH (TAG "t") [UID] ...`` for ``numbers``; None if only SAVE was asked."""
    options = returns.options
    if set(options) <= {"SAVE"} and returns.partial is None:
        return None
    parts = [b"* ESEARCH (TAG " + quoted(tag) + b")"]
    if uid:
        parts.append(b"UID")
    if numbers and "MIN" in options:
        parts.append(b"MIN %d" % (numbers[0] if sorted_result else min(numbers)))
    if numbers and "MAX" in options:
        parts.append(b"MAX %d" % (numbers[-1] if sorted_result else max(numbers)))
    if numbers and "ALL" in options:
        text = ordered_set(numbers) if sorted_result else compress(numbers)
        parts.append(b"ALL " + text.encode())
    if "COUNT" in options:
        parts.append(b"COUNT %d" % len(numbers))
    if returns.partial is not None:
        first, last = returns.partial
        chosen = partial_slice(numbers, returns.partial)
        found = (ordered_set(chosen) if sorted_result else compress(chosen)) or "NIL"
        parts.append(f"PARTIAL ({first}:{last} {found})".encode())
    if modseq is not None and numbers:
        parts.append(b"MODSEQ %d" % modseq)
    return b" ".join(parts) + b"\r\n"
