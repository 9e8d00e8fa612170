"""Fixtures of the browser tier (helpers are in ``support.browser``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.browser import fill_mailbox, serve_app

from mailrs.store.maildir import MaildirStore


@pytest.fixture
def site(config_path: Path) -> Iterator[tuple[str, MaildirStore]]:
    """The web app on a free port with Alice's mail: a conversation of 4 and a few others."""
    with serve_app(config_path) as (base, store):
        fill_mailbox(store)
        yield base, store
