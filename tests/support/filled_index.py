"""An INBOX of Alice's with N delivered messages, indexed (for the index's unit tests)."""

from __future__ import annotations

from mailrs.store.index import MailIndex
from mailrs.store.maildir import MaildirStore
from support.imap import ALICE, sample_message


def filled_index(store: MaildirStore, count: int) -> MailIndex:
    """Alice's mailbox with ``count`` messages in INBOX (mtimes one second apart), synced."""
    store.create_user(ALICE)
    for n in range(count):
        store.deliver(ALICE, sample_message(f"m{n}"), mtime=1_700_000_000 + n)
    index = MailIndex(store, ALICE)
    index.sync("INBOX")
    return index
