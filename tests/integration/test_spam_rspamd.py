"""Spam scoring against a real rspamd, and the pipeline around a failing or unreachable scorer."""

from __future__ import annotations

import dataclasses
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.config import free_port
from support.dns import DnsServer
from support.processes import Proc, wait_until
from support.services import require_tool

from mailrs.config import Settings
from mailrs.inbound.spam import SpamEnvelope, load_filter
from mailrs.inbound.spam.rspamd import RspamdError, RspamdFilter

ENVELOPE = SpamEnvelope("1K10SHCVX7WW8578X0", "bob@remote.test", ("alice@example.test",))


HAM = (
    b"From: Bob <bob@remote.test>\r\nTo: alice@example.test\r\nSubject: lunch tomorrow?\r\n"
    b"Date: Tue, 24 Nov 2026 10:00:00 +0000\r\nMessage-ID: <ham@remote.test>\r\n\r\nnoon?\r\n"
)


SPAM = (
    b'From: "service@paypal.test" <win@spam.test>\r\nSubject: URGENT WINNER CLAIM NOW!!!\r\n'
    b"Content-Type: text/html\r\n\r\n<b>click here</b>\r\n"
)


def with_spam(settings: Settings, **keys: object) -> Settings:
    return dataclasses.replace(settings, spam=dataclasses.replace(settings.spam, **keys))


def test_rspamd_down_is_an_error_not_a_verdict(settings: Settings) -> None:
    scorer = RspamdFilter(with_spam(settings, rspamd_url=f"http://127.0.0.1:{free_port()}"))
    with pytest.raises(RspamdError):
        scorer.check(HAM, ENVELOPE)


RSPAMD_CONF = """\
.include "$CONFDIR/common.conf"
options {{
    pidfile = "$RUNDIR/rspamd.pid";
    .include "$CONFDIR/options.inc"
    dns {{ nameserver = ["{dns}"]; timeout = 0.5s; retransmits = 1; }}
}}
logging {{ type = "console"; level = "error"; }}
worker "normal" {{
    bind_socket = "127.0.0.1:{port}";
    .include "$CONFDIR/worker-normal.inc"
    count = 1;
}}
"""


def _pong(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=1) as response:
            return response.read().strip() == b"pong"
    except OSError:
        return False


@pytest.fixture(scope="module")
def rspamd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real rspamd (Debian's) with Debian's rules, on a free loopback port, its own dirs."""
    binary = require_tool("rspamd")
    folder: Path = tmp_path_factory.mktemp("rspamd")
    port = free_port()
    with DnsServer([]) as dns:  # every lookup answers NXDOMAIN at once: no real DNS
        (folder / "rspamd.conf").write_text(RSPAMD_CONF.format(port=port, dns=dns.address))
        argv = [binary, "-f", "-i", "-c", str(folder / "rspamd.conf")]
        for var in ("LOCAL_CONFDIR", "DBDIR", "RUNDIR", "LOGDIR"):
            argv += ["--var", f"{var}={folder}"]
        argv += ["--var", "CONFDIR=/etc/rspamd"]
        proc = Proc(argv)
        try:
            assert wait_until(lambda: _pong(port) or proc.popen.poll() is not None, 90)
            assert proc.popen.poll() is None, proc.output
            yield f"http://127.0.0.1:{port}"
        finally:
            proc.stop()


@pytest.mark.slow
def test_rspamd_adapter_against_real_rspamd(settings: Settings, rspamd: str) -> None:
    scorer = load_filter(with_spam(settings, filter="rspamd", rspamd_url=rspamd))
    ham = scorer.check(HAM, ENVELOPE)
    spam = scorer.check(SPAM, ENVELOPE)
    assert spam.score > ham.score
    assert "MISSING_DATE" in spam.symbols and "MISSING_DATE" not in ham.symbols
    assert spam.action in ("no action", "greylist", "add header", "rewrite subject", "reject")


@pytest.mark.slow
def test_rspamd_in_the_pipeline_files_spam_into_junk(
    settings: Settings, database: object, store: object, rspamd: str, tmp_path: Path
) -> None:
    from sqlalchemy import select
    from support.pipeline import drive

    from mailrs.accounts.users import add_user
    from mailrs.celery import configure
    from mailrs.db.engine import Database
    from mailrs.db.models import Message
    from mailrs.queue.accept import Envelope, accept_message
    from mailrs.queue.spool import Spool
    from mailrs.store.maildir import MaildirStore

    assert isinstance(database, Database) and isinstance(store, MaildirStore)
    configure(with_spam(settings, filter="rspamd", rspamd_url=rspamd, threshold=6.0))
    with database.session() as session:
        add_user(session, store, "alice@example.test", "alice password")
    spool = Spool(settings.spool_path)
    spool.ensure()
    envelope = Envelope("win@spam.test", ("alice@example.test",), "192.0.2.9", "spam.test")
    queue_id = accept_message(database, spool, envelope, SPAM)
    drive(queue_id)
    with database.session() as session:
        message = session.scalar(select(Message).where(Message.queue_id == queue_id))
        assert message is not None and message.spam_verdict in ("spam", "ham")
        verdict, score = message.spam_verdict, message.spam_score
    folder = "Junk" if verdict == "spam" else "INBOX"
    (copy,) = store.list_messages("alice@example.test", folder)
    data = store.read("alice@example.test", folder, copy.key)
    assert f"X-Spam-Score: {score:.1f}".encode() in data
    assert verdict == "spam", f"rspamd scored the spam sample {score}"


def test_a_failing_scorer_never_drops_the_message(
    settings: Settings, database: object, store: object
) -> None:
    from sqlalchemy import select
    from support.pipeline import drive

    from mailrs.accounts.users import add_user
    from mailrs.celery import configure
    from mailrs.db.engine import Database
    from mailrs.db.models import Message
    from mailrs.queue.accept import Envelope, accept_message
    from mailrs.queue.spool import Spool
    from mailrs.store.maildir import MaildirStore

    assert isinstance(database, Database) and isinstance(store, MaildirStore)
    down = f"http://127.0.0.1:{free_port()}"
    configure(with_spam(settings, filter="rspamd", rspamd_url=down, timeout_secs=2.0))
    with database.session() as session:
        add_user(session, store, "alice@example.test", "alice password")
    spool = Spool(settings.spool_path)
    spool.ensure()
    queue_id = accept_message(
        database, spool, Envelope("b@remote.test", ("alice@example.test",)), HAM
    )
    drive(queue_id)
    (copy,) = store.list_messages("alice@example.test")
    assert b"X-Spam-Status: Unknown (RspamdError)" in store.read(
        "alice@example.test", "INBOX", copy.key
    )
    with database.session() as session:
        message = session.scalar(select(Message).where(Message.queue_id == queue_id))
        assert message is not None and message.spam_verdict == "unchecked"
        assert message.state == "delivered"
