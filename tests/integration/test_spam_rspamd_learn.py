"""Moves into and out of Junk teach a real rspamd (Debian's) through its controller.

rspamd runs with a normal and a controller worker on free loopback ports and keeps its
Bayes statistics in the test's Redis database; the mailbox service moves messages as
IMAP and the web do, and rspamd's own ``/stat`` shows what it learnt.
"""

from __future__ import annotations

import dataclasses
import json
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.brokers import redis_test_url
from support.config import free_port
from support.dns import DnsServer
from support.processes import Proc, wait_until
from support.services import require_tool

from mailrs.config import Settings
from mailrs.inbound.spam.rspamd import RspamdError, learn
from mailrs.store.mailbox import MailboxService
from mailrs.store.maildir import MaildirStore

pytestmark = [pytest.mark.slow, pytest.mark.redis]
USER = "alice@example.test"
CONF = """\
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
worker "controller" {{
    bind_socket = "127.0.0.1:{controller}";
    count = 1;
    password = "not-used-from-loopback";
    enable_password = "{password}";
    secure_ip = "192.0.2.1";
    static_dir = "${{WWWDIR}}";
}}
"""
BAYES = 'servers = "127.0.0.1:6379"; db = "{db}"; min_learns = 1;\n'
PASSWORD = "test-only-rspamd-password"


@pytest.fixture(scope="module")
def controller(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = require_tool("rspamd")
    folder: Path = tmp_path_factory.mktemp("rspamd-learn")
    port, controller_port = free_port(), free_port()
    (folder / "local.d").mkdir()
    db = redis_test_url().rsplit("/", 1)[1]  # this run's own database, flushed first
    (folder / "local.d" / "classifier-bayes.conf").write_text(BAYES.format(db=db))
    with DnsServer([]) as dns:
        conf = CONF.format(
            port=port, controller=controller_port, dns=dns.address, password=PASSWORD
        )
        (folder / "rspamd.conf").write_text(conf)
        argv = [binary, "-f", "-i", "-c", str(folder / "rspamd.conf")]
        for var in ("LOCAL_CONFDIR", "DBDIR", "RUNDIR", "LOGDIR"):
            argv += ["--var", f"{var}={folder}"]
        argv += ["--var", "CONFDIR=/etc/rspamd"]
        proc = Proc(argv)
        try:
            url = f"http://127.0.0.1:{controller_port}"
            assert wait_until(lambda: _stat(url) is not None or proc.popen.poll() is not None, 90)
            assert proc.popen.poll() is None, proc.output
            yield url
        finally:
            proc.stop()


def _stat(url: str) -> dict[str, object] | None:
    request = urllib.request.Request(f"{url}/stat", headers={"Password": PASSWORD})
    try:
        with urllib.request.urlopen(request, timeout=2) as response:
            return json.loads(response.read())  # type: ignore[no-any-return]
    except OSError:
        return None


def _learned(url: str) -> int:
    """How many messages this rspamd learnt since it started (its /stat "learned")."""
    stat = _stat(url)
    assert stat is not None
    return int(stat["learned"])  # type: ignore[call-overload]


def _mail(n: int, spammy: bool) -> bytes:
    tag = uuid.uuid4().hex  # a message rspamd has not seen
    words = (
        "claim your exclusive lottery prize now cheap pills casino bonus guaranteed winner"
        if spammy
        else "the quarterly planning meeting moved to thursday please bring the budget notes"
    )
    return (
        f"From: <sender{n}@remote.test>\r\nTo: {USER}\r\nSubject: message {n} {tag}\r\n"
        f"Message-ID: <{tag}@remote.test>\r\n\r\n{words} {words} {tag}\r\n"
    ).encode()


def test_moves_into_and_out_of_junk_teach_rspamd(settings: Settings, controller: str) -> None:
    spam = dataclasses.replace(
        settings.spam, filter="rspamd", rspamd_controller_url=controller, rspamd_password=PASSWORD
    )
    configured = dataclasses.replace(settings, spam=spam)
    store = MaildirStore(settings.maildir_path)
    store.create_user(USER)
    before = _learned(controller)
    with MailboxService(store, USER, configured) as box:
        box.deliver(_mail(1, True), "INBOX", key="s1")
        box.deliver(_mail(2, False), "Junk", key="h1")
        box.move("INBOX", [m.uid for m in box.messages("INBOX")], "Junk")
        assert _learned(controller) == before + 1  # learnt as spam
        box.move("Junk", [m.uid for m in box.messages("Junk") if m.key.startswith("h1")], "INBOX")
        assert _learned(controller) == before + 2  # learnt as ham
        box.move("INBOX", [m.uid for m in box.messages("INBOX")], "Trash")
        assert _learned(controller) == before + 2  # deleting teaches nothing


def test_a_wrong_controller_password_is_an_error(settings: Settings, controller: str) -> None:
    spam = dataclasses.replace(
        settings.spam, rspamd_controller_url=controller, rspamd_password="no"
    )
    with pytest.raises(RspamdError, match="HTTP 40[13]"):
        learn(dataclasses.replace(settings, spam=spam), _mail(3, True), True)
