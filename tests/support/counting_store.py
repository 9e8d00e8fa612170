"""The real Maildir store, counting the messages it hands out (read-count test and bench)."""

from __future__ import annotations

from mailrs.store.maildir import MaildirStore


class CountingStore(MaildirStore):
    """The real Maildir store, counting the messages (whole or their header) it reads."""

    reads = 0

    def read(self, address: str, mailbox: str, key: str, filename: str | None = None) -> bytes:
        """Count, then read."""
        self.reads += 1
        return super().read(address, mailbox, key, filename)

    def read_head(self, *args: object, **kwargs: object) -> bytes:
        """Count, then read the header block."""
        self.reads += 1
        return super().read_head(*args, **kwargs)  # type: ignore[arg-type]

    def read_many(
        self, address: str, mailbox: str, messages: list[tuple[str, str | None]]
    ) -> list[bytes | None]:
        """Count each, then read them."""
        self.reads += len(messages)
        return super().read_many(address, mailbox, messages)
