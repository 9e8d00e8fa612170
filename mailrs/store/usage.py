"""How many bytes a user's mail takes: the quota usage every service agrees on.

The mailbox index keeps each message's size; a sync first picks up deliveries the index
has not seen. A folder whose ``new/`` and ``cur/`` directories have not changed since the
last scan is not scanned again, so a call costs two ``stat``s per folder and one SQL sum,
not a walk of the Maildir. Blocking: async callers run it in a thread.
"""

from __future__ import annotations

from mailrs.errors import MailboxNotFound
from mailrs.store.mailbox import MailboxService
from mailrs.store.maildir import MaildirStore


def mailbox_usage(store: MaildirStore, address: str) -> int:
    """Bytes used by every message of ``address`` (0 when it has no Maildir yet)."""
    if not store.user_exists(address):
        return 0
    with MailboxService(store, address) as mailbox:
        try:
            for name in mailbox.list_folders():
                mailbox.sync(name)
        except MailboxNotFound:
            return 0
        return mailbox.total_size()
