"""SELECT and FETCH of index-held items never open a message file (checked by trapping opens)."""

from __future__ import annotations

import asyncio
import builtins
import os
from pathlib import Path
from typing import Any

import pytest
from support.imap import ALICE, sample_message

from imapd.backend import Backend
from imapd.commands import execute
from imapd.commands.base import Context
from imapd.parser import parse_command
from imapd.session import Session
from mailrs.store.maildir import MaildirStore

COUNT = 2000


class Collect:
    """An Output that keeps what the server would send."""

    def __init__(self) -> None:
        self.data = b""

    async def send(self, data: bytes) -> None:
        """Keep the bytes."""
        self.data += data


def test_select_and_fetch_flags_uid_come_from_the_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = MaildirStore(tmp_path / "maildir")
    store.create_user(ALICE)
    folder = store.user_dir(ALICE)
    for n in range(COUNT):
        data = sample_message(f"index only {n}")
        name = f"1700000000.M{n}P1.host,S={len(data)}:2,{'S' if n % 2 else ''}"
        (folder / "cur" / name).write_bytes(data)
    message_dirs = (str(folder / "cur"), str(folder / "new"))
    opened: list[str] = []
    real_open, real_os_open = builtins.open, os.open

    def trap(path: Any, *args: Any, **kwargs: Any) -> Any:
        if str(path).startswith(message_dirs):
            opened.append(str(path))
        return real_open(path, *args, **kwargs)

    def trap_os(path: Any, *args: Any, **kwargs: Any) -> Any:
        if str(path).startswith(message_dirs):
            opened.append(str(path))
        return real_os_open(path, *args, **kwargs)

    async def session() -> list[bytes]:
        out = Collect()
        state = Session()
        state.login(ALICE)
        backend = Backend(None, store)  # type: ignore[arg-type]
        ctx = Context(state, backend, out, mail=backend.open_user(ALICE))
        replies = []
        for line in (
            b"a SELECT INBOX",
            b"b FETCH 1:* (FLAGS UID)",
            b"c UID FETCH 1:* (FLAGS RFC822.SIZE INTERNALDATE MODSEQ)",
            b"d SEARCH UNSEEN LARGER 10 UID 1:1000",
        ):
            replies.append(await execute(ctx, parse_command(line)))
        await ctx.user_mail().close()
        return [out.data, *replies]

    monkeypatch.setattr(builtins, "open", trap)
    monkeypatch.setattr(os, "open", trap_os)
    data, *replies = asyncio.run(session())
    monkeypatch.undo()
    assert all(reply.split()[1] == b"OK" for reply in replies), replies
    assert b"* %d EXISTS" % COUNT in data
    assert data.count(b" FETCH (FLAGS ") == COUNT and data.count(b" FETCH (UID ") == COUNT
    assert opened == []
