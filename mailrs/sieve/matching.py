"""Sieve string matching: match types, comparators, relational operators (RFC 5228, 5231)."""

from __future__ import annotations

import re

RELATIONS = {
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
}


def _numeric(text: str) -> float:
    """i;ascii-numeric: the leading digits' value; no digits sorts after every number."""
    digits = re.match(r"\d*", text).group(0)  # type: ignore[union-attr]
    return float(digits) if digits else float("inf")


def _fold(text: str, comparator: str) -> str:
    """The text as the comparator compares it."""
    return text if comparator == "i;octet" else text.lower()


def glob_match(value: str, pattern: str, comparator: str) -> list[str] | None:
    """``:matches``: the wildcard captures (``${0}`` first) when it matches, else None."""
    parts: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            parts.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        parts.append("(.*?)" if ch == "*" else "(.)" if ch == "?" else re.escape(ch))
        i += 1
    flags = re.DOTALL | (0 if comparator == "i;octet" else re.IGNORECASE)
    found = re.fullmatch("".join(parts), value, flags)
    if found is None:
        return None
    return [found.group(0), *found.groups()]


def compare(
    values: list[str], keys: list[str], match_type: str, relation: str, comparator: str
) -> tuple[bool, list[str]]:
    """Whether any value matches any key; the ``:matches`` captures of the first match."""
    if match_type == ":count":
        count = str(len([v for v in values if v != ""]))
        return any(_relate(count, key, relation, "i;ascii-numeric") for key in keys), []
    for value in values:
        for key in keys:
            if match_type == ":matches":
                captures = glob_match(value, key, comparator)
                if captures is not None:
                    return True, captures
            elif match_type == ":value":
                if _relate(value, key, relation, comparator):
                    return True, []
            elif match_type == ":contains":
                if _fold(key, comparator) in _fold(value, comparator):
                    return True, []
            elif _equal(value, key, comparator):
                return True, []
    return False, []


def _equal(value: str, key: str, comparator: str) -> bool:
    """``:is`` under a comparator."""
    if comparator == "i;ascii-numeric":
        return _numeric(value) == _numeric(key)
    return _fold(value, comparator) == _fold(key, comparator)


def _relate(value: str, key: str, relation: str, comparator: str) -> bool:
    """A relational comparison (RFC 5231) of value against key."""
    test = RELATIONS.get(relation, RELATIONS["eq"])
    if comparator == "i;ascii-numeric":
        return bool(test(_numeric(value), _numeric(key)))
    return bool(test(_fold(value, comparator), _fold(key, comparator)))
