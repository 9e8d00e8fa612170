"""Sequence sets (``1:*``, ``2,4:6``, ``*``): parsing and resolving against a mailbox.

A set is kept as ranges whose ends may be ``None`` for ``*``; it is never expanded
blindly, so ``1:4294967295`` costs no more than ``1:2``.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

MAX_NUMBER = 4_294_967_295  # nz-number is a 32-bit unsigned integer


class SequenceSetError(ValueError):
    """The text is not a valid sequence set."""


type Bound = int | None  # None stands for "*"


@dataclass(frozen=True)
class SequenceSet:
    """A set of message sequence numbers or UIDs as (first, last) ranges."""

    ranges: tuple[tuple[Bound, Bound], ...]
    saved: bool = False  # ``$``: the last result saved by SEARCH RETURN (SAVE) (RFC 5182)

    def _intervals(self, largest: int) -> list[tuple[int, int]]:
        """Ranges with ``*`` replaced by ``largest``, low end first, merged and sorted."""
        spans = []
        for first, last in self.ranges:
            low = largest if first is None else first
            high = largest if last is None else last
            spans.append((min(low, high), max(low, high)))
        spans.sort()
        merged: list[tuple[int, int]] = []
        for low, high in spans:
            if merged and low <= merged[-1][1] + 1:
                merged[-1] = (merged[-1][0], max(high, merged[-1][1]))
            else:
                merged.append((low, high))
        return merged

    def message_numbers(self, count: int) -> list[int]:
        """Sequence numbers in a mailbox of ``count`` messages; ValueError if out of range."""
        if count == 0:  # even "*" names no message (RFC 9051 6.4.x: tagged BAD)
            raise ValueError("the mailbox is empty")
        numbers: list[int] = []
        for low, high in self._intervals(count):
            if high > count:
                raise ValueError(f"message number {high} does not exist")
            numbers.extend(range(low, high + 1))
        return numbers

    def match_uids(self, uids: Sequence[int]) -> list[int]:
        """Indexes into ``uids`` (sorted ascending) of the UIDs in the set; others are ignored."""
        if not uids:
            return []
        found: list[int] = []
        for low, high in self._intervals(uids[-1]):
            start = bisect.bisect_left(uids, low)
            end = bisect.bisect_right(uids, high)
            found.extend(range(start, end))
        return found


def _number(text: str) -> Bound:
    if text == "*":
        return None
    if not text.isascii() or not text.isdigit() or text.startswith("0") or len(text) > 10:
        raise SequenceSetError(f"invalid number {text!r} in sequence set")
    value = int(text)
    if value > MAX_NUMBER:
        raise SequenceSetError(f"number {text} is too large")
    return value


def parse_sequence_set(text: str) -> SequenceSet:
    """Parse ``sequence-set`` (RFC 3501); raises SequenceSetError."""
    if not text:
        raise SequenceSetError("empty sequence set")
    ranges = []
    for item in text.split(","):
        first, sep, last = item.partition(":")
        start = _number(first)
        ranges.append((start, _number(last) if sep else start))
    return SequenceSet(tuple(ranges))


def compress(numbers: Sequence[int]) -> str:
    """A sequence set naming exactly these numbers (``1:3,7``)."""
    ordered = sorted(set(numbers))
    parts = []
    index = 0
    while index < len(ordered):
        start = ordered[index]
        while index + 1 < len(ordered) and ordered[index + 1] == ordered[index] + 1:
            index += 1
        end = ordered[index]
        parts.append(str(start) if start == end else f"{start}:{end}")
        index += 1
    return ",".join(parts)
