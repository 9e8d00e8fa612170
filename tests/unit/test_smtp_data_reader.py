"""DATA read in bulk (``smtpd.data_reader``) ends exactly where aiosmtpd's line loop does.

aiosmtpd's own ``SMTP.smtp_DATA`` and ``MailSMTP._receive_data`` run on one fake session
each, fed the same octets in the same random pieces: the same replies, the same
content handed to the DATA hook, the same octets left in the reader afterwards.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest
from aiosmtpd.smtp import MISSING, SMTP, Envelope

from smtpd.data_reader import DataAssembler, Outcome
from smtpd.protocol import MailSMTP

LINE_LIMIT = 40  # aiosmtpd's is 1001; small so random lines cross it often


class _Writer:
    def close(self) -> None:
        pass


class _Session:
    """What both DATA implementations read or call on the protocol object."""

    def __init__(self, reader: asyncio.StreamReader, size_limit: int | None) -> None:
        self._reader = reader
        self._writer = _Writer()
        self.transport = object()
        self.data_size_limit = size_limit
        self.line_length_limit = LINE_LIMIT
        self._decode_data = False
        self._handle_hooks = {"DATA": None}
        self._ip = "192.0.2.1"
        self.envelope = Envelope()
        self.envelope.rcpt_tos = ["a@b.test"]
        self.replies: list[str] = []
        self.stored: list[bytes | None] = []

    async def check_helo_needed(self) -> bool:
        return False

    async def check_auth_needed(self, command: str) -> bool:
        return False

    async def push(self, status: str) -> None:
        self.replies.append(status)

    async def _call_handler_hook(self, command: str, *args: Any) -> Any:
        self.stored.append(self.envelope.original_content)
        return MISSING

    def _set_post_data_state(self) -> None:
        self.envelope = Envelope()


async def _run(implementation: Any, stream: bytes, pieces: list[int], size_limit: int | None):
    reader = asyncio.StreamReader(limit=LINE_LIMIT)
    session = _Session(reader, size_limit)

    async def feed() -> None:
        at = 0
        for size in pieces:
            reader.feed_data(stream[at : at + size])
            at += size
            await asyncio.sleep(0)
        reader.feed_data(stream[at:])

    feeder = asyncio.ensure_future(feed())
    await asyncio.wait_for(implementation(session, ""), 5)
    await feeder
    left = reader._buffer  # type: ignore[attr-defined]
    return session.replies, session.stored, bytes(left)


def _both(stream: bytes, pieces: list[int], size_limit: int | None) -> tuple[Any, Any]:
    theirs = asyncio.run(_run(SMTP.smtp_DATA, stream, pieces, size_limit))
    ours = asyncio.run(_run(MailSMTP._receive_data, stream, pieces, size_limit))
    return theirs, ours


def _random_stream(rng: random.Random) -> bytes:
    lines = []
    for _ in range(rng.randint(0, 8)):
        length = rng.choice([0, 1, 2, 5, LINE_LIMIT - 3, LINE_LIMIT - 2, LINE_LIMIT - 1])
        length = rng.choice(
            [length, LINE_LIMIT, LINE_LIMIT + 1, LINE_LIMIT + 2, rng.randint(0, 90)]
        )
        text = bytes(rng.choice(b"ab..\r\n x") for _ in range(length))
        lines.append(text)
    body = b"\r\n".join(lines) + (b"\r\n" if lines else b"")
    return body + b".\r\n" + rng.choice([b"", b"QUIT\r\n", b"MAIL FROM:<a@b>\r\n", b".\r\n"])


FIXED = [
    b".\r\n",
    b".\r\nQUIT\r\n",
    b"a\r\n.\r\n",
    b"..\r\n...\r\n.x\r\n.\r\nRSET\r\n",
    b"a\nb\r\n.\n.\r\n.\r\n",  # bare LF: no line start, kept as it is
    b"a\r\r\n.\r\n",
    b"x" * (LINE_LIMIT - 2) + b"\r\n.\r\n",
    b"x" * (LINE_LIMIT - 1) + b"\r\n.\r\n",
    b"x" * (LINE_LIMIT + 5) + b"\r\nok\r\n.\r\nQUIT\r\n",
    b"a\r\n" * 30 + b".\r\n",
]


@pytest.mark.parametrize("stream", FIXED)
@pytest.mark.parametrize("size_limit", [None, 0, 10, 60])
def test_fixed_streams_end_as_in_aiosmtpd(stream: bytes, size_limit: int | None) -> None:
    for pieces in ([len(stream)], [1] * len(stream), [3, 2, 7, 1, 4] * 20):
        theirs, ours = _both(stream, pieces, size_limit)
        assert ours == theirs, (stream, pieces)


def test_random_streams_end_as_in_aiosmtpd() -> None:
    rng = random.Random(5321)
    outcomes = set()
    for _ in range(400):
        stream = _random_stream(rng)
        pieces = [rng.randint(1, 30) for _ in range(rng.randint(0, 12))]
        size_limit = rng.choice([None, 20, 50, 120, 400])
        theirs, ours = _both(stream, pieces, size_limit)
        assert ours == theirs, (stream, pieces, size_limit)
        outcomes.add(theirs[0][-1][:3] if theirs[0] else "")
    assert {"250", "500", "552"} <= outcomes


def test_the_assembler_undoes_dot_stuffing_and_keeps_no_more_than_the_limit() -> None:
    assembler = DataAssembler(20, 1001)
    assembler.feed(b"..a\r\n.b\r\nc.\r\n")
    assert assembler.outcome is Outcome.NOMINAL
    assert assembler.content() == b".a\r\nb\r\nc.\r\n"
    assembler.feed(b"x" * 30 + b"\r\n")
    assert assembler.outcome is Outcome.TOO_MUCH
    assert not assembler._kept and not assembler._partial


def test_asyncio_stream_reader_keeps_what_read_data_uses() -> None:
    async def make() -> asyncio.StreamReader:
        return asyncio.StreamReader()

    reader = asyncio.run(make())
    assert isinstance(reader._buffer, bytearray)  # type: ignore[attr-defined]
    assert callable(reader._wait_for_data)  # type: ignore[attr-defined]


def test_aiosmtpd_data_replies_are_still_the_ones_we_copy() -> None:
    import inspect

    source = inspect.getsource(SMTP.smtp_DATA)
    for reply in (
        "503 Error: need RCPT command",
        "501 Syntax: DATA",
        "354 End data with <CR><LF>.<CR><LF>",
        "500 Line too long (see RFC5321 4.5.3.1.6)",
        "552 Error: Too much mail data",
        "self._set_post_data_state()",
        "readuntil(b'\\r\\n')",
    ):
        assert reply in source, reply
