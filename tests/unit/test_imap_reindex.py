"""``mailrs reindex USER``: the index is rebuilt from the Maildir and keeps the UIDs it can."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from support.imap import ALICE, sample_message

from mailrs.cli.main import cli
from mailrs.store.index import MailIndex
from mailrs.store.maildir import MaildirStore


def test_reindex_keeps_uids_and_picks_up_changes(
    config_path: Path, store: MaildirStore, database: object
) -> None:
    store.create_user(ALICE)
    keys = [
        store.deliver(ALICE, sample_message(f"r{n}"), mtime=1_700_000_000 + n).key for n in range(3)
    ]
    index = MailIndex(store, ALICE)
    before = index.sync("INBOX")
    assert [m.uid for m in before.messages] == [1, 2, 3]
    index.close()
    store.delete(ALICE, "INBOX", keys[1])
    store.deliver(ALICE, sample_message("r3"), "Archive", mtime=1_700_000_010)
    store.set_flags(ALICE, "INBOX", keys[2], "S")
    result = CliRunner().invoke(cli, ["reindex", ALICE, "--config", str(config_path)])
    assert result.exit_code == 0, result.output
    assert "INBOX: 2 messages" in result.output and "Archive: 1 messages" in result.output
    after = MailIndex(store, ALICE).state("INBOX")
    assert after.uidvalidity == before.uidvalidity
    assert [(m.uid, m.key, m.flags) for m in after.messages] == [
        (1, keys[0], ""),
        (3, keys[2], "S"),
    ]


def test_reindex_replaces_a_damaged_index(config_path: Path, store: MaildirStore) -> None:
    store.create_user(ALICE)
    store.deliver(ALICE, sample_message("kept"))
    (store.user_dir(ALICE) / "mailrs-index.sqlite").write_bytes(b"this is not SQLite" * 100)
    result = CliRunner().invoke(cli, ["reindex", ALICE, "--config", str(config_path)])
    assert result.exit_code == 0, result.output
    assert len(MailIndex(store, ALICE).state("INBOX").messages) == 1
    assert list(store.user_dir(ALICE).glob("mailrs-index.broken-*"))


def test_reindex_unknown_user(config_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["reindex", "nobody@example.test", "--config", str(config_path)]
    )
    assert result.exit_code != 0 and "no Maildir" in result.output


def test_a_missing_index_is_rebuilt_with_a_new_uidvalidity(store: MaildirStore) -> None:
    store.create_user(ALICE)
    for n in range(3):
        store.deliver(ALICE, sample_message(f"m{n}"), mtime=1_700_000_000 + n)
    index = MailIndex(store, ALICE)
    first = index.sync("INBOX")
    index.close()
    for path in store.user_dir(ALICE).glob("mailrs-index.sqlite*"):
        path.unlink()
    again = MailIndex(store, ALICE).sync("INBOX")
    assert [m.uid for m in again.messages] == [1, 2, 3]
    assert again.uidvalidity != first.uidvalidity  # clients learn to resynchronise
