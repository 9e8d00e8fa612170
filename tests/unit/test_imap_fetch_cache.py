"""FETCH's per-process cache of ENVELOPE, BODY, BODYSTRUCTURE and header blocks.

Shared by the sessions of one process, it must answer exactly as the message's bytes
do, never hold flags, and forget a message that is expunged or moved away.
"""

from __future__ import annotations

import asyncio
import builtins
import os
from pathlib import Path
from typing import Any

import pytest
from support.imap import ALICE

from imapd.backend import Backend, MessageRef
from imapd.commands import execute
from imapd.commands.base import Context
from imapd.fetch_cache import RAW_MAX, Derived, FetchCache
from imapd.parser import parse_command
from imapd.session import Session
from mailrs.store.maildir import MaildirStore

MULTIPART = (
    b"From: Bob <bob@example.test>\r\nTo: alice@example.test, Carol <carol@example.test>\r\n"
    b"Subject: report %d\r\nDate: Mon, 4 Mar 2024 10:00:00 +0100\r\n"
    b"Message-ID: <m%d@example.test>\r\nMIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
    b"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nhello\r\nthere\r\n"
    b"--b\r\nContent-Type: application/pdf; name=r.pdf\r\nContent-Transfer-Encoding: base64\r\n"
    b"\r\nJVBERi0=\r\n--b--\r\n"
)
CACHED_ITEMS = (
    b"(ENVELOPE BODYSTRUCTURE BODY BODY.PEEK[HEADER.FIELDS (Subject From)] RFC822.HEADER)"
)


class Collect:
    """An Output that keeps what the server would send."""

    def __init__(self) -> None:
        self.data = b""

    async def send(self, data: bytes) -> None:
        """Keep the bytes."""
        self.data += data


class Opens:
    """Counts opens of message files while installed."""

    def __init__(self, folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.dirs = (str(folder / "cur"), str(folder / "new"))
        self.paths: list[str] = []
        real_open, real_os_open = builtins.open, os.open

        def trap(path: Any, *args: Any, **kwargs: Any) -> Any:
            self._note(path)
            return real_open(path, *args, **kwargs)

        def trap_os(path: Any, *args: Any, **kwargs: Any) -> Any:
            self._note(path)
            return real_os_open(path, *args, **kwargs)

        monkeypatch.setattr(builtins, "open", trap)
        monkeypatch.setattr(os, "open", trap_os)

    def _note(self, path: Any) -> None:
        if str(path).startswith(self.dirs):
            self.paths.append(str(path))


@pytest.fixture
def store(tmp_path: Path) -> MaildirStore:
    store = MaildirStore(tmp_path / "maildir")
    store.create_user(ALICE)
    for n in range(5):
        store.deliver(ALICE, MULTIPART % (n, n), mtime=1_700_000_000 + n)
    return store


def session(backend: Backend) -> tuple[Context, Collect]:
    """A logged-in connection on ``backend`` (the process's shared services)."""
    out = Collect()
    state = Session()
    state.login(ALICE)
    return Context(state, backend, out, mail=backend.open_user(ALICE)), out


async def run(ctx: Context, out: Collect, *lines: bytes) -> bytes:
    """Run commands; every one must end OK. What was sent (tagged lines included)."""
    out.data = b""
    for line in lines:
        done = await execute(ctx, parse_command(line))
        assert done.split()[1] == b"OK", (line, done, out.data)
        out.data += done
    return out.data


def test_a_second_session_is_answered_from_the_cache_byte_for_byte(
    store: MaildirStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def scenario() -> tuple[bytes, bytes, bytes, int]:
        fresh = Backend(None, store)  # type: ignore[arg-type]
        uncached_ctx, uncached_out = session(fresh)
        await run(uncached_ctx, uncached_out, b"s SELECT INBOX")
        uncached = await run(uncached_ctx, uncached_out, b"f FETCH 1:* " + CACHED_ITEMS)
        backend = Backend(None, store)  # type: ignore[arg-type]
        first, first_out = session(backend)
        await run(first, first_out, b"s SELECT INBOX")
        filled = await run(first, first_out, b"f FETCH 1:* " + CACHED_ITEMS)
        second, second_out = session(backend)
        await run(second, second_out, b"s SELECT INBOX")
        opens = Opens(store.user_dir(ALICE), monkeypatch)
        served = await run(second, second_out, b"f FETCH 1:* " + CACHED_ITEMS)
        monkeypatch.undo()
        for ctx in (uncached_ctx, first, second):
            await ctx.user_mail().close()
        return uncached, filled, served, len(opens.paths)

    uncached, filled, served, opened = asyncio.run(scenario())
    assert uncached == filled == served
    assert b'"report 3"' in served and b'("application" "pdf" ("name" "r.pdf")' in served
    assert opened == 0  # every value came from the cache: no message file was read


def test_flags_are_never_cached(store: MaildirStore) -> None:
    async def scenario() -> bytes:
        backend = Backend(None, store)  # type: ignore[arg-type]
        reader, reader_out = session(backend)
        writer, writer_out = session(backend)
        await run(reader, reader_out, b"s SELECT INBOX")
        await run(writer, writer_out, b"s SELECT INBOX")
        await run(reader, reader_out, b"f FETCH 2 (FLAGS ENVELOPE)")
        await run(writer, writer_out, b"t STORE 2 +FLAGS (\\Flagged $Work)")
        seen = await run(reader, reader_out, b"f FETCH 2 (FLAGS ENVELOPE)")
        for ctx in (reader, writer):
            await ctx.user_mail().close()
        return seen

    seen = asyncio.run(scenario())
    line = next(x for x in seen.split(b"\r\n") if b"ENVELOPE" in x)
    assert b"\\Flagged" in line and b"$Work" in line


def test_an_expunged_message_is_forgotten_for_every_session(store: MaildirStore) -> None:
    async def scenario() -> tuple[int, int, bytes]:
        backend = Backend(None, store)  # type: ignore[arg-type]
        reader, reader_out = session(backend)
        expunger, expunger_out = session(backend)
        await run(reader, reader_out, b"s SELECT INBOX")
        await run(reader, reader_out, b"f FETCH 1:* (ENVELOPE BODYSTRUCTURE)")
        cached = len(backend.fetch_cache)
        await run(expunger, expunger_out, b"s SELECT INBOX")
        await run(expunger, expunger_out, b"t STORE 1:2 +FLAGS (\\Deleted)", b"x EXPUNGE")
        left = len(backend.fetch_cache)
        after = await run(reader, reader_out, b"n NOOP", b"f FETCH 1:* (ENVELOPE)")
        for ctx in (reader, expunger):
            await ctx.user_mail().close()
        return cached, left, after

    cached, left, after = asyncio.run(scenario())
    assert (cached, left) == (5, 3)
    assert b"* 2 EXPUNGE" in after or b"* 1 EXPUNGE" in after
    assert b'"report 0"' not in after.split(b"n OK")[1]
    assert b'"report 1"' not in after.split(b"n OK")[1]
    assert b'"report 4"' in after


def test_a_moved_message_is_forgotten_in_its_old_mailbox(store: MaildirStore) -> None:
    async def scenario() -> tuple[int, int]:
        backend = Backend(None, store)  # type: ignore[arg-type]
        ctx, out = session(backend)
        await run(ctx, out, b"s SELECT INBOX", b"f FETCH 1:* (ENVELOPE)")
        before = len(backend.fetch_cache)
        first = ctx.selected().message(1)
        ref = MessageRef(first.uid, first.key, first.flags, first.keywords)
        await ctx.user_mail().copy("INBOX", [ref], "Archive", move=True)  # MOVE's storage step
        after = len(backend.fetch_cache)
        await ctx.user_mail().close()
        return before, after

    assert asyncio.run(scenario()) == (5, 4)


def test_the_cache_is_bounded_and_checks_the_size() -> None:
    cache = FetchCache(max_bytes=3 * (300 + 100))
    for n in range(5):
        cache.put(("a", "INBOX", f"k{n}"), Derived(100, b"x" * 100))
    assert len(cache) == 3  # the two least recently used went
    assert cache.get(("a", "INBOX", "k0"), 100) is None
    assert cache.get(("a", "INBOX", "k4"), 100) is not None
    assert cache.get(("a", "INBOX", "k4"), 101) is None  # other bytes: dropped
    assert cache.get(("a", "INBOX", "k4"), 100) is None
    cache.drop("a", "INBOX", ["k2", "k3"])
    assert len(cache) == 0 and cache.used == 0


def test_a_file_gone_before_its_header_was_cached_is_expungeissued(store: MaildirStore) -> None:
    big = MULTIPART % (9, 9) + b"x" * (RAW_MAX + 1) + b"\r\n"  # too big to be kept whole
    store.deliver(ALICE, big, mtime=1_700_000_100)

    async def scenario() -> bytes:
        backend = Backend(None, store)  # type: ignore[arg-type]
        ctx, out = session(backend)
        await run(ctx, out, b"s SELECT INBOX", b"f FETCH 6 (BODY.PEEK[])")  # no header kept
        mail = ctx.user_mail()

        async def vanished(mailbox: str, keys: list[str]) -> list[bytes | None]:
            return [None] * len(keys)  # removed by another process since the last sync

        mail.read_many = vanished  # type: ignore[method-assign]
        reply = await execute(ctx, parse_command(b"h FETCH 6 (RFC822.HEADER)"))
        await mail.close()
        return reply

    assert asyncio.run(scenario()).startswith(b"h NO [EXPUNGEISSUED]")


def test_a_small_message_is_kept_whole_and_read_once(
    store: MaildirStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    items = b"(BODY.PEEK[] BODY.PEEK[1] BODY.PEEK[TEXT] BINARY.PEEK[2] RFC822.SIZE)"

    async def scenario() -> tuple[bytes, bytes, int]:
        uncached_ctx, uncached_out = session(Backend(None, store))  # type: ignore[arg-type]
        await run(uncached_ctx, uncached_out, b"s SELECT INBOX")
        uncached = await run(uncached_ctx, uncached_out, b"f FETCH 1:* " + items)
        backend = Backend(None, store)  # type: ignore[arg-type]
        first, first_out = session(backend)
        await run(first, first_out, b"s SELECT INBOX", b"f FETCH 1:* (BODY.PEEK[])")
        second, second_out = session(backend)
        await run(second, second_out, b"s SELECT INBOX")
        opens = Opens(store.user_dir(ALICE), monkeypatch)
        served = await run(second, second_out, b"f FETCH 1:* " + items)
        monkeypatch.undo()
        for ctx in (uncached_ctx, first, second):
            await ctx.user_mail().close()
        return uncached, served, len(opens.paths)

    uncached, served, opened = asyncio.run(scenario())
    assert served == uncached and b"BODY[1] {12}\r\nhello\r\nthere" in served
    assert opened == 0
