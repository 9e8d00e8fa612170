"""ESEARCH/ESORT result building and the RETURN / ``$`` grammar (no sockets)."""

from __future__ import annotations

import pytest

from imapd.errors import ParseError
from imapd.esearch import esearch_line, ordered_set, partial_slice, saved_result
from imapd.parsed import Returns, SearchArgs, SortArgs
from imapd.parser import parse_command


def test_ordered_set_keeps_order() -> None:
    assert ordered_set([5, 6, 7, 1, 2, 9]) == "5:7,1:2,9"
    assert ordered_set([3, 2, 1]) == "3,2,1"
    assert ordered_set([]) == ""


def test_partial_slice() -> None:
    numbers = [10, 20, 30, 40, 50]
    assert partial_slice(numbers, (1, 2)) == [10, 20]
    assert partial_slice(numbers, (4, 100)) == [40, 50]
    assert partial_slice(numbers, (-1, -2)) == [40, 50]
    assert partial_slice(numbers, (-5, -9)) == [10]
    assert partial_slice(numbers, (-6, -9)) == []


def test_saved_result_min_max_and_all() -> None:
    assert saved_result([4, 8, 9], Returns(("SAVE",))) == [4, 8, 9]
    assert saved_result([4, 8, 9], Returns(("SAVE", "MIN"))) == [4]
    assert saved_result([4, 8, 9], Returns(("MAX", "SAVE", "MIN"))) == [4, 9]
    assert saved_result([4, 8, 9], Returns(("SAVE", "MIN", "ALL"))) == [4, 8, 9]
    assert saved_result([], Returns(("SAVE", "MIN"))) == []


def test_esearch_line() -> None:
    assert esearch_line("t", False, [1, 2, 3], Returns(("SAVE",))) is None
    line = esearch_line("t", True, [3, 1, 2], Returns(("MIN", "MAX", "ALL")), sorted_result=True)
    assert line == b'* ESEARCH (TAG "t") UID MIN 3 MAX 2 ALL 3,1:2\r\n'
    assert esearch_line("t", False, [], Returns(("MIN", "COUNT"))) == (
        b'* ESEARCH (TAG "t") COUNT 0\r\n'
    )


def test_return_and_saved_result_grammar() -> None:
    command = parse_command(b"a UID SEARCH RETURN (MIN SAVE) CHARSET UTF-8 $ RECENT")
    assert isinstance(command.args, SearchArgs)
    assert command.args.returns == Returns(("MIN", "SAVE"))
    assert command.args.charset == "UTF-8"
    plain = parse_command(b"a SEARCH RECENT")
    assert isinstance(plain.args, SearchArgs) and plain.args.returns is None
    empty = parse_command(b"a SEARCH RETURN () ALL")
    assert isinstance(empty.args, SearchArgs) and empty.args.returns == Returns(("ALL",))
    sort = parse_command(b"a SORT RETURN (PARTIAL -1:-10) (DATE) UTF-8 ALL")
    assert isinstance(sort.args, SortArgs) and sort.args.returns == Returns((), (-1, -10))
    fetch = parse_command(b"a FETCH $ FLAGS")
    assert fetch.args.sequence.saved  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "text",
    [
        b"a SEARCH RETURN (MIN MIN) ALL",
        b"a SEARCH RETURN (PARTIAL 1:-2) ALL",
        b"a SEARCH RETURN (PARTIAL) ALL",
        b"a SEARCH RETURN (ALL PARTIAL 1:5) ALL",
        b"a SEARCH RETURN (MIN)ALL",
        b"a FETCH $1 FLAGS",
    ],
)
def test_bad_return_options(text: bytes) -> None:
    with pytest.raises(ParseError):
        parse_command(text)
