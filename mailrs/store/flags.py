"""The flag algebra of a mailbox: Maildir letters and IMAP keywords, added, removed or replaced.

A change is a *mode* (``+`` add, ``-`` remove, "" replace) and the given letters or
keywords; the mailbox service applies it to a message's flags as they are at that
moment, so two clients changing different flags of one message lose neither change.
"""

from __future__ import annotations

ADD = "+"
REMOVE = "-"
REPLACE = ""
MODES = (ADD, REMOVE, REPLACE)


def merge_letters(mode: str, current: str, given: str) -> str:
    """Maildir flag letters after ``+`` (add), ``-`` (remove) or "" (replace; P is kept)."""
    if mode == ADD:
        merged = set(current) | set(given)
    elif mode == REMOVE:
        merged = set(current) - set(given)
    else:
        merged = set(given) | ({"P"} & set(current))
    return "".join(sorted(merged))


def merge_keywords(mode: str, current: str, given: str) -> str:
    """Space-separated keywords after ``+``, ``-`` or "" (replace); case-insensitive."""
    have = {k.lower(): k for k in current.split()}
    new = {k.lower(): k for k in given.split()}
    if mode == ADD:
        have.update({k: v for k, v in new.items() if k not in have})
    elif mode == REMOVE:
        have = {k: v for k, v in have.items() if k not in new}
    else:
        have = new
    return " ".join(have.values())
