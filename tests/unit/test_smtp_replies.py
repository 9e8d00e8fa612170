"""The SMTP session without a network: policy decisions and the exact replies they give.

Each test feeds bytes to our protocol object (made by the server's own factory, handled by
the real ``MailHandler`` on SQLite, the spool and the embedded broker's files) and compares
what it writes with the named replies of ``smtpd.replies``.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import replace

import pytest
from support.smtp_session import SUBMISSION, SocketFreeSession, SocketFreeSmtp

from mailrs.accounts.aliases import add_alias
from mailrs.accounts.users import add_user
from mailrs.config import Settings
from mailrs.db.engine import Database
from mailrs.store.maildir import MaildirStore
from smtpd import replies

ALICE = "alice@example.test"
PASSWORD = "alice password 123"
SMALL_LIMIT = 2000

# The server silences this too: AUTH on a plaintext listener is what the test asks for.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

Scenario = Callable[[SocketFreeSmtp], Awaitable[None]]


@pytest.fixture
def smtp_settings(settings: Settings, database: Database, store: MaildirStore) -> Settings:
    """The test's settings with a small size limit, few recipients, Alice and an alias."""
    with database.session() as session:
        add_user(session, store, ALICE, PASSWORD)
        add_alias(session, "team@example.test", ALICE)
        session.commit()
    smtp = replace(
        settings.smtp, max_message_size=SMALL_LIMIT, max_recipients=2, allow_insecure_auth=True
    )
    return replace(settings, smtp=smtp)


@pytest.fixture
def run(smtp_settings: Settings) -> Iterator[Callable[[Scenario], None]]:
    """Run one scenario against a socket-free smtpd on a fresh event loop."""

    def runner(scenario: Scenario) -> None:
        async def main() -> None:
            smtp = SocketFreeSmtp(smtp_settings)
            try:
                await scenario(smtp)
            finally:
                await smtp.close()

        asyncio.run(main())

    yield runner


async def greeted(smtp: SocketFreeSmtp, **kwargs: object) -> SocketFreeSession:
    """A session past its greeting and EHLO."""
    session = smtp.session(**kwargs)  # type: ignore[arg-type]
    assert (await session.open()).startswith("220 ")
    assert (await session.last("EHLO client.example.org")).startswith("250 ")
    return session


def test_greeting_and_extensions(run: Callable[[Scenario], None]) -> None:
    async def scenario(smtp: SocketFreeSmtp) -> None:
        session = smtp.session()
        assert (await session.open()).startswith("220 mx.example.test ")
        lines = (await session.command("EHLO client.example.org")).split("\r\n")
        assert lines[0] == "250-mx.example.test"
        assert f"250-SIZE {SMALL_LIMIT}" in lines
        assert {"250-PIPELINING", "250-ENHANCEDSTATUSCODES", "250-8BITMIME"} <= set(lines)
        assert await session.last("QUIT") == replies.BYE
        await session.close()

    run(scenario)


@pytest.mark.parametrize(
    ("recipient", "expected"),
    [
        (ALICE, replies.OK_RCPT),
        ("ALICE+news@Example.TEST", replies.OK_RCPT),
        ("team@example.test", replies.OK_RCPT),
        ("nobody@example.test", replies.NO_SUCH_USER),
        ("friend@remote.test", replies.RELAY_DENIED),
        ("not an address@", replies.BAD_ADDRESS_SYNTAX),
    ],
    ids=["user", "plus-tag", "alias", "unknown", "relay", "malformed"],
)
def test_recipient_policy(run: Callable[[Scenario], None], recipient: str, expected: str) -> None:
    async def scenario(smtp: SocketFreeSmtp) -> None:
        session = await greeted(smtp)
        assert await session.last("MAIL FROM:<bob@remote.test>") == replies.OK_SENDER
        assert await session.last(f"RCPT TO:<{recipient}>") == expected
        await session.close()

    run(scenario)


def test_recipient_limit(run: Callable[[Scenario], None]) -> None:
    async def scenario(smtp: SocketFreeSmtp) -> None:
        session = await greeted(smtp)
        await session.command("MAIL FROM:<bob@remote.test>")
        assert await session.last(f"RCPT TO:<{ALICE}>") == replies.OK_RCPT
        assert await session.last("RCPT TO:<team@example.test>") == replies.OK_RCPT
        assert await session.last("RCPT TO:<alice+x@example.test>") == replies.TOO_MANY_RECIPIENTS
        await session.close()

    run(scenario)


def test_declared_size_over_the_limit_is_refused(run: Callable[[Scenario], None]) -> None:
    async def scenario(smtp: SocketFreeSmtp) -> None:
        session = await greeted(smtp)
        too_big = f"MAIL FROM:<bob@remote.test> SIZE={SMALL_LIMIT + 1}"
        assert await session.last(too_big) == replies.SIZE_EXCEEDED
        fits = f"MAIL FROM:<bob@remote.test> SIZE={SMALL_LIMIT - 100}"
        assert await session.last(fits) == replies.OK_SENDER
        await session.close()

    run(scenario)


def test_message_data_over_the_limit_is_refused(run: Callable[[Scenario], None]) -> None:
    async def scenario(smtp: SocketFreeSmtp) -> None:
        session = await greeted(smtp)
        await session.command("MAIL FROM:<bob@remote.test>")
        await session.command(f"RCPT TO:<{ALICE}>")
        assert await session.last("DATA") == replies.START_DATA
        body = b"Subject: big\r\n\r\n" + (b"x" * 70 + b"\r\n") * 40
        assert await session.send(body + b".\r\n") == replies.SIZE_EXCEEDED
        await session.close()

    run(scenario)


@pytest.mark.parametrize("line_ending", [b"\n", b"\r"], ids=["LF", "CR"])
def test_bare_line_endings_in_data_are_refused(
    run: Callable[[Scenario], None], line_ending: bytes
) -> None:
    async def scenario(smtp: SocketFreeSmtp) -> None:
        session = await greeted(smtp)
        await session.command("MAIL FROM:<bob@remote.test>")
        await session.command(f"RCPT TO:<{ALICE}>")
        await session.command("DATA")
        data = b"Subject: bare\r\n\r\nfirst" + line_ending + b"second\r\n.\r\n"
        assert await session.send(data) == replies.BARE_LINE_ENDING
        assert not list(smtp.spool.queue_dir.glob("*.eml"))
        await session.close()

    run(scenario)


def test_a_clean_message_is_queued(run: Callable[[Scenario], None]) -> None:
    async def scenario(smtp: SocketFreeSmtp) -> None:
        session = await greeted(smtp)
        await session.command("MAIL FROM:<bob@remote.test>")
        await session.command(f"RCPT TO:<{ALICE}>")
        await session.command("DATA")
        reply = await session.send(b"Subject: hello\r\n\r\nHello Alice\r\n.\r\n")
        prefix = replies.QUEUED.format(queue_id="")
        assert reply.startswith(prefix)
        queue_id = reply.removeprefix(prefix)
        assert reply == replies.QUEUED.format(queue_id=queue_id)
        assert b"Hello Alice" in smtp.spool.file_of(queue_id).read_bytes()
        await session.close()

    run(scenario)


def test_submission_needs_auth_before_mail(run: Callable[[Scenario], None]) -> None:
    async def scenario(smtp: SocketFreeSmtp) -> None:
        session = await greeted(smtp, listener=SUBMISSION)
        assert await session.last(f"MAIL FROM:<{ALICE}>") == replies.AUTH_REQUIRED
        bad = base64.b64encode(f"\0{ALICE}\0wrong".encode()).decode()
        assert await session.last(f"AUTH PLAIN {bad}") == replies.AUTH_FAILED
        good = base64.b64encode(f"\0{ALICE}\0{PASSWORD}".encode()).decode()
        assert await session.last(f"AUTH PLAIN {good}") == replies.AUTH_OK
        assert await session.last("MAIL FROM:<bob@example.test>") == replies.SENDER_NOT_OWNED
        assert await session.last(f"MAIL FROM:<{ALICE}>") == replies.OK_SENDER
        assert await session.last("RCPT TO:<friend@remote.test>") == replies.OK_RCPT
        await session.close()

    run(scenario)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b"HELO " + b"h" * 300 + b".example.org", replies.BAD_HELO),
        (b"MAIL FROM:<bob\x00@remote.test>", replies.BAD_BYTES),
        (b"MAIL FROM:<b\xc3\x28b@remote.test>", replies.BAD_BYTES),
        (b"FROB now", replies.UNKNOWN_COMMAND),
        (b"MAIL FROM:<" + b"a" * 1100 + b"@remote.test>", replies.COMMAND_TOO_LONG),
    ],
    ids=["long-helo", "nul", "bad-utf8", "unknown", "too-long"],
)
def test_bad_commands_get_named_errors(
    run: Callable[[Scenario], None], line: bytes, expected: str
) -> None:
    async def scenario(smtp: SocketFreeSmtp) -> None:
        session = await greeted(smtp)
        assert await session.last(line) == expected
        assert await session.last("NOOP") == replies.OK  # the session goes on
        await session.close()

    run(scenario)


def test_connections_over_the_limit_are_refused(smtp_settings: Settings) -> None:
    async def main() -> None:
        smtp = SocketFreeSmtp(smtp_settings, max_connections=1)
        first = smtp.session()
        assert (await first.open()).startswith("220 ")
        second = smtp.session(peer="192.0.2.11")
        refusal = replies.TOO_MANY_CONNECTIONS.format(host="mx.example.test")
        assert await second.open() == refusal
        assert second.transport.closed
        await first.close()
        third = smtp.session(peer="192.0.2.12")
        assert (await third.open()).startswith("220 ")
        await third.close()
        await smtp.close()

    asyncio.run(main())
