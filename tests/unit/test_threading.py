"""Base subjects and the THREAD algorithms of RFC 5256 (mailrs.store.threading)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailrs.store.threading import (
    ThreadMessage,
    ThreadNode,
    base_subject,
    extract_subject,
    message_ids,
    subject_key,
    thread_orderedsubject,
    thread_references,
)


@pytest.mark.parametrize(
    ("subject", "base", "reply"),
    [
        ("Hello", "Hello", False),
        ("Re: Hello", "Hello", True),
        ("RE:   Hello  ", "Hello", True),
        ("Fwd: Re: re: Hello", "Hello", True),
        ("Fw: Hello", "Hello", True),
        ("Re[2]: Hello", "Hello", True),
        ("[list] Re: Hello", "Hello", True),
        ("[list] Hello", "Hello", False),
        ("[only a blob]", "[only a blob]", False),
        ("Hello (fwd)", "Hello", True),
        ("Hello (fwd) (FWD)  ", "Hello", True),
        ("[Fwd: Re: Hello]", "Hello", True),
        ("[fwd: [list] Hello (fwd)]", "Hello", True),
        ("Hello\t\r\n  world", "Hello world", False),
        ("Regarding: Re", "Regarding: Re", False),
        ("", "", False),
        ("Re:", "", True),
    ],
)
def test_base_subject(subject: str, base: str, reply: bool) -> None:
    extracted = extract_subject(subject)
    assert (extracted.base, extracted.is_reply) == (base, reply)
    assert base_subject(subject) == base


def test_subject_key_folds_ascii_case_only() -> None:
    assert subject_key("re: hello") == subject_key("HELLO") == "HELLO"
    assert subject_key("été") == "éTé"


def test_message_ids() -> None:
    assert message_ids("<a@x> <b@y>\t<c@z>") == ["a@x", "b@y", "c@z"]
    assert message_ids("garbage") == []


def shape(nodes: list[ThreadNode]) -> list[object]:
    """Threads as nested [key, children...] lists for comparison."""
    return [[n.key, *shape(n.children)] if n.children else n.key for n in nodes]


def msg(key: int, subject: str, mid: str = "", refs: str = "", irt: str = "", date: float = 0):
    return ThreadMessage(key, subject, mid, refs, irt, date or float(key), key)


def test_orderedsubject_groups_by_base_subject_sorted_by_date() -> None:
    messages = [
        msg(1, "Alpha", date=10),
        msg(2, "Beta", date=5),
        msg(3, "Re: alpha", date=20),
        msg(4, "Fwd: ALPHA", date=15),
        msg(5, "Gamma", date=1),
    ]
    assert shape(thread_orderedsubject(messages)) == [5, 2, [1, 4, 3]]


def test_references_chain_and_missing_parent() -> None:
    messages = [
        msg(1, "topic", "<a@x>"),
        msg(2, "Re: topic", "<b@x>", "<a@x>"),
        msg(3, "Re: topic", "<c@x>", "<a@x> <b@x>"),
        msg(4, "Re: topic", "<d@x>", irt="<a@x>"),
        msg(5, "other", "<e@x>", "<missing@x>"),
        msg(6, "Re: other", "<f@x>", "<missing@x>"),
    ]
    # 5 and 6 share a missing parent: a dummy at the root holds them both
    assert shape(thread_references(messages)) == [[1, [2, 3], 4], [None, 5, 6]]


def test_references_single_child_dummy_is_pruned_and_subjects_merge() -> None:
    messages = [
        msg(1, "lonely", "<a@x>", "<gone@x>"),
        msg(2, "Re: lonely", "<b@x>"),  # no references: joined by subject under 1
        msg(3, "unrelated", "<c@x>"),
    ]
    assert shape(thread_references(messages)) == [[1, 2], 3]


def test_references_same_subject_no_reply_gets_a_dummy() -> None:
    messages = [msg(1, "status", "<a@x>"), msg(2, "status", "<b@x>")]
    assert shape(thread_references(messages)) == [[None, 1, 2]]


def test_references_duplicate_ids_loops_and_no_ids() -> None:
    messages = [
        msg(1, "one", "<same@x>", "<b@x>"),
        msg(2, "two", "<same@x>"),  # duplicate Message-ID: a message of its own
        msg(3, "three", "<b@x>", "<same@x>"),  # would make a loop with 1
        msg(4, "four"),
        msg(5, "five", "<e@x>", "<e@x>"),  # refers to itself
    ]
    result = thread_references(messages)
    keys: list[int] = []

    def walk(nodes: list[ThreadNode]) -> None:
        for node in nodes:
            if node.key is not None:
                keys.append(node.key)
            walk(node.children)

    walk(result)
    assert sorted(keys) == [1, 2, 3, 4, 5]


def test_references_siblings_sorted_by_date_then_order() -> None:
    messages = [
        msg(1, "root", "<r@x>", date=1),
        msg(2, "Re: root", "<s@x>", "<r@x>", date=30),
        msg(3, "Re: root", "<t@x>", "<r@x>", date=20),
        msg(4, "Re: root", "<u@x>", "<r@x>", date=20),
    ]
    assert shape(thread_references(messages)) == [[1, 3, 4, 2]]


def test_empty_input() -> None:
    assert thread_references([]) == [] and thread_orderedsubject([]) == []


def _keys(nodes: list[ThreadNode]) -> list[int]:
    found: list[int] = []
    for node in nodes:
        if node.key is not None:
            found.append(node.key)
        found.extend(_keys(node.children))
    return found


def _no_empty_dummies(nodes: list[ThreadNode], top: bool = True) -> bool:
    for node in nodes:
        if node.key is None and (not top or len(node.children) < 2):
            return False
        if not _no_empty_dummies(node.children, False):
            return False
    return True


ids = st.sampled_from(["<a@x>", "<b@x>", "<c@x>", "<d@x>", "<e@x>", "", "junk"])
subjects = st.sampled_from(["x", "Re: x", "Fwd: x", "y", "[l] y (fwd)", "", "Re:"])


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(subjects, ids, st.lists(ids, max_size=4), ids, st.integers(0, 5)),
        max_size=12,
    )
)
def test_threads_hold_every_message_once(
    rows: list[tuple[str, str, list[str], str, int]],
) -> None:
    messages = [
        ThreadMessage(n, subject, mid, " ".join(refs), irt, float(date), n)
        for n, (subject, mid, refs, irt, date) in enumerate(rows, start=1)
    ]
    expected = list(range(1, len(rows) + 1))
    for threads in (thread_references(messages), thread_orderedsubject(messages)):
        assert sorted(_keys(threads)) == expected
    assert _no_empty_dummies(thread_references(messages))
