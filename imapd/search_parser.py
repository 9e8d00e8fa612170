"""The SEARCH grammar (RFC 3501 section 6.4.4, plus MODSEQ from RFC 7162) on the cursor.

Every key becomes a ``SearchKey``: flags as ``FLAG (name, wanted)``, the address and
subject keys as ``HEADER (field, text)``, dates as ``DATE (INTERNAL|SENT, BEFORE|ON|SINCE,
(y, m, d))``, and lists, NOT and OR as nodes holding other keys.
"""

from __future__ import annotations

from imapd import arguments
from imapd.cursor import DIGITS, Cursor
from imapd.parsed import Returns, SearchArgs, SearchKey, SortArgs, ThreadArgs

MAX_DEPTH = 32
_FLAG_KEYS = {
    "ANSWERED": ("\\Answered", True),
    "DELETED": ("\\Deleted", True),
    "DRAFT": ("\\Draft", True),
    "FLAGGED": ("\\Flagged", True),
    "SEEN": ("\\Seen", True),
    "UNANSWERED": ("\\Answered", False),
    "UNDELETED": ("\\Deleted", False),
    "UNDRAFT": ("\\Draft", False),
    "UNFLAGGED": ("\\Flagged", False),
    "UNSEEN": ("\\Seen", False),
}
_HEADER_KEYS = ("BCC", "CC", "FROM", "SUBJECT", "TO")
_DATE_KEYS = {
    "BEFORE": ("INTERNAL", "BEFORE"),
    "ON": ("INTERNAL", "ON"),
    "SINCE": ("INTERNAL", "SINCE"),
    "SENTBEFORE": ("SENT", "BEFORE"),
    "SENTON": ("SENT", "ON"),
    "SENTSINCE": ("SENT", "SINCE"),
}
_SIMPLE = ("ALL", "NEW", "OLD", "RECENT")
_KEY_CHARS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


def parse_search(cur: Cursor) -> SearchArgs:
    """``SEARCH [CHARSET astring] search-key *(SP search-key)``."""
    cur.sp()
    charset = None
    returns = _returns(cur)
    start = cur.pos
    if cur.peek() is not None and cur.data[cur.pos] in _KEY_CHARS:
        word = cur.take(_KEY_CHARS, "a search key").upper()
        if word == "CHARSET":
            cur.sp()
            charset = cur.astring("a charset").upper()
            cur.sp()
        else:
            cur.pos = start
    return SearchArgs(charset, parse_keys(cur), returns)


RETURN_OPTIONS = ("MIN", "MAX", "ALL", "COUNT", "SAVE", "UPDATE")


def _partial_range(cur: Cursor) -> tuple[int, int]:
    negative = cur.maybe("-")
    first = cur.number()
    cur.char(":", "expected ':' in a partial range")
    if negative:
        cur.char("-", "expected a negative partial range end")
    last = cur.number()
    if first == 0 or last == 0:
        raise cur.error("a partial range counts from 1")
    low, high = min(first, last), max(first, last)
    return (-low, -high) if negative else (low, high)


def _returns(cur: Cursor) -> Returns | None:
    """``RETURN (option ...) SP`` (RFC 4731, 5182, 9394) if present."""
    start = cur.pos
    if cur.peek() not in (ord("R"), ord("r")):
        return None
    word = cur.take(_KEY_CHARS, "a search key").upper()
    if word != "RETURN":
        cur.pos = start
        return None
    cur.sp()
    cur.char("(", "expected '(' after RETURN")
    options: list[str] = []
    partial = None
    while cur.peek() != ord(")"):
        if options or partial is not None:
            cur.sp()
        option = cur.take(_KEY_CHARS, "a RETURN option").upper()
        if option == "PARTIAL" and partial is None:
            cur.sp()
            partial = _partial_range(cur)
        elif option in RETURN_OPTIONS and option not in options:
            options.append(option)
        else:
            raise cur.error(f"bad RETURN option {option[:40]}")
    cur.char(")")
    cur.sp()
    if partial is not None and "ALL" in options:
        raise cur.error("PARTIAL and ALL cannot be combined")
    if not options and partial is None:
        options = ["ALL"]  # RETURN () is RETURN (ALL)
    return Returns(tuple(options), partial)


def parse_keys(cur: Cursor) -> SearchKey:
    """``search-key *(SP search-key)`` up to the end of the command, ANDed."""
    keys = [_key(cur, 0)]
    while cur.maybe(" "):
        keys.append(_key(cur, 0))
    cur.end()
    return keys[0] if len(keys) == 1 else SearchKey("AND", tuple(keys))


SORT_KEYS = ("ARRIVAL", "CC", "DATE", "FROM", "SIZE", "SUBJECT", "TO", "DISPLAYFROM", "DISPLAYTO")
THREAD_ALGORITHMS = ("ORDEREDSUBJECT", "REFERENCES")


def parse_sort(cur: Cursor) -> SortArgs:
    """``SORT (sort-criteria) charset search-key...`` (RFC 5256)."""
    cur.sp()
    returns = _returns(cur)
    cur.char("(", "expected '(' before the sort criteria")
    criteria: list[tuple[str, bool]] = []
    while True:
        word = cur.take(_KEY_CHARS, "a sort key").upper()
        reverse = word == "REVERSE"
        if reverse:
            cur.sp()
            word = cur.take(_KEY_CHARS, "a sort key").upper()
        if word not in SORT_KEYS:
            raise cur.error(f"unknown sort key {word[:40]}")
        criteria.append((word, reverse))
        if not cur.maybe(" "):
            break
    cur.char(")", "expected ')' after the sort criteria")
    cur.sp()
    charset = cur.astring("a charset").upper()
    cur.sp()
    return SortArgs(tuple(criteria), charset, parse_keys(cur), returns)


def parse_thread(cur: Cursor) -> ThreadArgs:
    """``THREAD algorithm charset search-key...`` (RFC 5256)."""
    cur.sp()
    algorithm = cur.atom().upper()
    if algorithm not in THREAD_ALGORITHMS:
        raise cur.error(f"unknown threading algorithm {algorithm[:40]}")
    cur.sp()
    charset = cur.astring("a charset").upper()
    cur.sp()
    return ThreadArgs(algorithm, charset, parse_keys(cur))


def _key(cur: Cursor, depth: int) -> SearchKey:
    if depth > MAX_DEPTH:
        raise cur.error("search keys nested too deeply")
    next_byte = cur.peek()
    if next_byte == ord("("):
        cur.pos += 1
        keys = [_key(cur, depth + 1)]
        while cur.maybe(" "):
            keys.append(_key(cur, depth + 1))
        cur.char(")", "expected ')' after search keys")
        return SearchKey("AND", tuple(keys))
    if next_byte is not None and (next_byte in DIGITS or next_byte in b"*$"):
        return SearchKey("SEQ", (arguments.sequence_set(cur),))
    word = cur.take(_KEY_CHARS, "a search key").upper()
    if word in _SIMPLE:
        return SearchKey(word)
    if word in _FLAG_KEYS:
        return SearchKey("FLAG", _FLAG_KEYS[word])
    cur.sp()
    if word in ("KEYWORD", "UNKEYWORD"):
        return SearchKey("FLAG", (cur.atom(), word == "KEYWORD"))
    if word in _HEADER_KEYS:
        return SearchKey("HEADER", (word, cur.astring("a search string")))
    if word == "HEADER":
        name = cur.astring("a header field name")
        cur.sp()
        return SearchKey("HEADER", (name.upper(), cur.astring("a search string")))
    if word in ("BODY", "TEXT"):
        return SearchKey(word, (cur.astring("a search string"),))
    if word in _DATE_KEYS:
        which, comparison = _DATE_KEYS[word]
        return SearchKey("DATE", (which, comparison, arguments.date(cur)))
    if word in ("LARGER", "SMALLER"):
        return SearchKey(word, (cur.number(),))
    if word == "UID":
        return SearchKey("UID", (arguments.sequence_set(cur),))
    if word == "NOT":
        return SearchKey("NOT", (_key(cur, depth + 1),))
    if word == "OR":
        first = _key(cur, depth + 1)
        cur.sp()
        return SearchKey("OR", (first, _key(cur, depth + 1)))
    if word == "MODSEQ":
        if cur.peek() == ord('"'):  # entry-name entry-type-req: accepted, not used
            cur.string("an entry name")
            cur.sp()
            cur.atom()
            cur.sp()
        return SearchKey("MODSEQ", (arguments.modseq(cur),))
    raise cur.error(f"unknown search key {word[:40]}")
