"""``[smtp] processes = 2``: one smtpd parent, two children on the same listeners; the
parent is one unit to whoever runs it (SIGTERM stops all cleanly, a dead child stops
the unit, children never outlive a killed parent), and ``mailrs up`` manages it as one."""

from __future__ import annotations

import os
import signal
import smtplib
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.config import provision
from support.pipeline import add_config
from support.processes import (
    Proc,
    alive,
    children_of,
    mailrs_up,
    python_m,
    service_env,
    wait_until,
)
from support.selfheal import service_pid

from mailrs.config import Settings, load_settings, parse_hostport

pytestmark = pytest.mark.slow
ALICE = "alice@example.test"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = provision(tmp_path, users=(ALICE,))
    add_config(path, "smtp", processes=2)
    return path


@pytest.fixture
def smtpd(config: Path) -> Iterator[Proc]:
    proc = Proc(python_m("smtpd", "--config", str(config)), env=service_env(config))
    try:
        proc.wait_for("SMTP server listening")
        assert wait_until(lambda: len(children_of(proc.popen.pid)) == 2, 60)
        yield proc
    finally:
        proc.stop()


def send(settings: Settings, count: int) -> list[int]:
    """``count`` messages to alice, one connection each; their reply codes."""
    host, port = parse_hostport(settings.smtp.listen_addr)
    codes = []
    for n in range(count):
        with smtplib.SMTP(host, port, timeout=30) as client:
            client.ehlo("client.example.org")
            client.mail("someone@remote.test")
            client.rcpt(ALICE)
            codes.append(client.data(f"Subject: {n}\r\n\r\nhello\r\n".encode())[0])
    return codes


def test_both_processes_accept_and_sigterm_stops_them_all(config: Path, smtpd: Proc) -> None:
    settings = load_settings(config, environ={})
    children = children_of(smtpd.popen.pid)
    assert send(settings, 8) == [250] * 8
    assert len(list((settings.spool_path / "queue").glob("*.eml"))) == 8
    smtpd.popen.send_signal(signal.SIGTERM)
    assert smtpd.popen.wait(timeout=60) == 0
    assert not any(alive(pid) for pid in children)


def test_children_stop_when_the_parent_is_killed(config: Path, smtpd: Proc) -> None:
    children = children_of(smtpd.popen.pid)
    smtpd.kill()  # SIGKILL: no chance to pass anything on
    assert wait_until(lambda: not any(alive(pid) for pid in children), 30)


def test_a_dead_child_stops_the_unit(config: Path, smtpd: Proc) -> None:
    first, second = children_of(smtpd.popen.pid)
    os.kill(first, signal.SIGKILL)
    assert smtpd.popen.wait(timeout=60) == 1  # the supervisor restarts the whole
    assert wait_until(lambda: not alive(second), 30)


def test_mailrs_up_runs_and_stops_smtpd_as_one_unit(config: Path) -> None:
    settings = load_settings(config, environ={})
    with mailrs_up(config) as up:
        pid = service_pid(config, "smtpd")
        assert pid is not None
        assert wait_until(lambda: len(children_of(pid)) == 2, 60)
        children = children_of(pid)
        assert send(settings, 2) == [250, 250]
        up.popen.send_signal(signal.SIGTERM)
        assert up.popen.wait(timeout=90) == 0
    assert not alive(pid)
    assert not any(alive(child) for child in children)
