"""Mailbox names with the characters Dovecot accepts, and their reversible Maildir++ dirs."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailrs.errors import InvalidMailboxName
from mailrs.store.maildir import MaildirStore
from mailrs.store.names import (
    MAX_DIRNAME_BYTES,
    folder_dirname,
    mailbox_from_dirname,
    normalize_mailbox_name,
)

USER = "names@example.test"


@pytest.mark.parametrize(
    ("name", "dirname"),
    [
        ("back\\slash", ".back\\slash"),
        ("a.b", ".a%2Eb"),
        (".hidden", ".%2Ehidden"),
        ("trailing.", ".trailing%2E"),
        ("Archive/v1.2/x", ".Archive.v1%2E2.x"),
        ("...x", ".%2E%2E%2Ex"),
        ("Caf\u00e9 \u65e5\u672c", ".Caf\u00e9 \u65e5\u672c"),
        ("[Gmail]/All Mail", ".[Gmail].All Mail"),
    ],
)
def test_accepted_names_round_trip(name: str, dirname: str) -> None:
    assert normalize_mailbox_name(name) == name
    assert folder_dirname(name) == dirname
    assert mailbox_from_dirname(dirname) == name


@pytest.mark.parametrize(
    "name",
    ["..", "a/..", "./a", "a/./b", "a\x00b", "a%b", "a*", "%2E", "/abs", "a/", "x" * 300],
)
def test_refused_names(name: str) -> None:
    with pytest.raises(InvalidMailboxName):
        normalize_mailbox_name(name)


def test_directory_names_that_folder_dirname_never_writes_are_ignored() -> None:
    for dirname in (".a%2Fb", ".a%b", ".a%2e", ".", "..", "plain", ".a..b", ".a.%2E"):
        assert mailbox_from_dirname(dirname) is None, dirname


def test_long_names_are_bounded_by_the_directory_limit() -> None:
    fits = "d" * (MAX_DIRNAME_BYTES - 1)
    assert len(folder_dirname(fits).encode()) == MAX_DIRNAME_BYTES
    with pytest.raises(InvalidMailboxName):
        normalize_mailbox_name("." * 20 + "x" * 200)  # escaping makes it too long on disk
    with pytest.raises(InvalidMailboxName):
        normalize_mailbox_name("\u65e5" * 90)  # 270 bytes of UTF-8


def test_store_keeps_odd_names_inside_the_user_directory(tmp_path: Path) -> None:
    store = MaildirStore(tmp_path)
    store.create_user(USER)
    root = store.folder_path(USER, "INBOX")
    for name in ("back\\slash", "..dots", "a.b/c.d", ".x"):
        store.create_folder(USER, name)
        path = store.folder_path(USER, name)
        assert path.parent == root and path.name.startswith(".")
        assert path.resolve().is_relative_to(root.resolve())
    assert {"back\\slash", "..dots", "a.b/c.d", ".x"} <= set(store.list_folders(USER))
