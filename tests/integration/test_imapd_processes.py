"""``[imap] processes = 2``: sessions served by different imapd processes over real sockets.

Each test finds out which process serves which connection (``/proc``), so what it checks
really crosses processes: changes and IDLE wake-ups from the other process, UIDs and
MODSEQs unique and in order while both write the same mailbox, connection limits held
over both, and the parent as one unit (SIGTERM, a dead child, a killed parent, ``mailrs
up``).
"""

from __future__ import annotations

import os
import re
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from support.config import provision
from support.imap import ALICE, RawClient, ServerHarness, sample_message
from support.pipeline import add_config
from support.processes import alive, children_of, mailrs_up, tcp_server_pid, wait_until
from support.selfheal import service_pid

from mailrs.config import load_settings, parse_hostport
from mailrs.store.events import publish_event

pytestmark = pytest.mark.slow
PASSWORD = "alice password"
BOB = "bob@example.test"
APPENDUID = re.compile(rb"\[APPENDUID (\d+) (\d+)\]")
MODSEQ = re.compile(rb"MODSEQ \((\d+)\)")


def start(tmp_path: Path, **env: str) -> ServerHarness:
    """An imapd with two processes (and these settings); its children up."""
    harness = ServerHarness(tmp_path, {"MAILRS_IMAP_PROCESSES": "2", **env}).start()
    proc = harness.server.proc
    assert proc is not None
    assert wait_until(lambda: len(children_of(proc.pid)) == 2, 60)
    return harness


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[ServerHarness]:
    running = start(tmp_path)
    try:
        yield running
    finally:
        running.stop()


def ended(harness: ServerHarness) -> None:
    """The server has ended (as the test meant it to): nothing left for the teardown."""
    proc = harness.server.proc
    harness.server.proc = None
    if proc is not None and proc.stdout is not None:
        proc.stdout.close()


def server_pid(harness: ServerHarness, client: RawClient) -> int | None:
    """The imapd child serving ``client``."""
    proc = harness.server.proc
    assert proc is not None
    port = client.sock.getsockname()[1]
    return tcp_server_pid(harness.server.port, port, children_of(proc.pid))


def one_per_process(harness: ServerHarness, user: str = ALICE) -> list[RawClient]:
    """A logged-in client on each of the two processes (connecting until both served one)."""
    found: dict[int, RawClient] = {}
    spare = []
    for _ in range(60):
        client = RawClient(harness.server.host, harness.server.port)
        pid = server_pid(harness, client) if client.greeting.startswith(b"* OK") else None
        if pid is None or pid in found:
            spare.append(client)
        else:
            found[pid] = client
            if len(found) == 2:
                break
    for client in spare:
        client.close()
    assert len(found) == 2, "the kernel gave every connection to one process"
    password = f"{user.split('@')[0]} password"
    for client in found.values():
        assert client.command(b"L", f'LOGIN {user} "{password}"'.encode())[-1].startswith(b"L OK")
    return list(found.values())


def append(client: RawClient, tag: bytes, mailbox: bytes, subject: str) -> int:
    """APPEND one message; its UID."""
    message = sample_message(subject)
    reply = client.command(tag, b"APPEND %s {%d+}\r\n" % (mailbox, len(message)) + message)
    match = APPENDUID.search(reply[-1])
    assert match is not None, reply
    return int(match.group(2))


def test_a_session_sees_what_a_session_of_the_other_process_did(harness: ServerHarness) -> None:
    first, second = one_per_process(harness)
    assert server_pid(harness, first) != server_pid(harness, second)
    for n in range(3):
        append(second, b"a%d" % n, b"INBOX", f"m{n}")
    assert b"* 3 EXISTS" in first.command(b"s", b"SELECT INBOX")
    second.command(b"s", b"SELECT INBOX")
    second.command(b"f", b"STORE 2 +FLAGS (\\Flagged)")
    assert any(
        line.startswith(b"* 2 FETCH") and b"\\Flagged" in line
        for line in first.command(b"n1", b"NOOP")
    )
    append(second, b"a9", b"INBOX", "fourth")
    assert b"* 4 EXISTS" in first.command(b"n2", b"NOOP")
    second.command(b"d", b"STORE 1 +FLAGS.SILENT (\\Deleted)")
    second.command(b"x", b"EXPUNGE")
    assert b"* 1 EXPUNGE" in first.command(b"n3", b"NOOP")


def exists(client: RawClient) -> bytes:
    """The next untagged EXISTS line (RECENT and FETCH lines may come first)."""
    while not (line := client.read_line()).endswith(b"EXISTS") and line:
        pass
    return line


def test_idle_wakes_for_the_other_process_and_for_deliveries(harness: ServerHarness) -> None:
    first, second = one_per_process(harness)
    first.command(b"s", b"SELECT INBOX")
    second.command(b"s", b"SELECT INBOX")
    first.send(b"i IDLE\r\n")
    assert first.read_line().startswith(b"+")
    append(second, b"a", b"INBOX", "while idling")
    assert exists(first) == b"* 1 EXISTS"
    second.send(b"i IDLE\r\n")
    assert second.read_line().startswith(b"+")
    harness.store.deliver(ALICE, sample_message("delivered"), "INBOX")
    publish_event(harness.settings, ALICE, {"kind": "new_mail", "folder": "INBOX"})
    assert exists(first) == b"* 2 EXISTS"
    assert exists(second) == b"* 2 EXISTS"
    for client in (first, second):
        client.send(b"DONE\r\n")
        assert client.until_tagged(b"i")[-1].startswith(b"i OK")


@dataclass
class Race:
    """What four sessions on two processes saw while writing one mailbox at once."""

    uids: list[list[int]]  # APPENDUID of each client's messages, in order
    modseqs: list[list[int]]  # the MODSEQ each client's STORE reported for its message
    unreported: int  # STOREs whose reply had no FETCH for the message
    expunged: set[int]
    listed: list[bytes]  # FETCH 1:* (UID MODSEQ) of a fresh session afterwards


def race(harness: ServerHarness, rounds: int = 25) -> Race:
    """Two sessions per process APPEND, STORE and (every fifth) EXPUNGE in one mailbox."""
    clients = one_per_process(harness) + one_per_process(harness)
    clients[0].command(b"c", b"CREATE Race")
    result = Race([[] for _ in clients], [[] for _ in clients], 0, set(), [])
    failures: list[BaseException] = []

    def work(n: int, client: RawClient) -> None:
        try:
            client.command(b"e", b"ENABLE CONDSTORE")
            client.command(b"s", b"SELECT Race")
            for r in range(rounds):
                uid = append(client, b"a%d" % r, b"Race", f"c{n} r{r}")
                result.uids[n].append(uid)
                reply = client.command(b"f%d" % r, b"UID STORE %d +FLAGS (\\Seen)" % uid)
                own = [line for line in reply if re.search(rb"\bUID %d\b" % uid, line)]
                found = [int(m) for line in own for m in MODSEQ.findall(line)]
                result.modseqs[n].extend(found)
                result.unreported += not found
                if r % 5 == 4:
                    client.command(b"d%d" % r, b"UID STORE %d +FLAGS.SILENT (\\Deleted)" % uid)
                    client.command(b"x%d" % r, b"UID EXPUNGE %d" % uid)
                    result.expunged.add(uid)
        except BaseException as exc:  # reported below
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(n, c)) for n, c in enumerate(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not failures, failures
    check = RawClient(harness.server.host, harness.server.port)
    check.command(b"L", f'LOGIN {ALICE} "{PASSWORD}"'.encode())
    check.command(b"e", b"ENABLE CONDSTORE")
    check.command(b"s", b"SELECT Race")
    result.listed = check.command(b"f", b"FETCH 1:* (UID MODSEQ)")
    return result


def test_uids_and_modseqs_stay_unique_and_ordered_when_both_write(
    harness: ServerHarness,
) -> None:
    result = race(harness)
    every_uid = [uid for mine in result.uids for uid in mine]
    assert len(set(every_uid)) == len(every_uid) == 100
    assert all(mine == sorted(mine) for mine in result.uids)
    every_modseq = [m for mine in result.modseqs for m in mine]
    assert len(set(every_modseq)) == len(every_modseq)
    assert all(mine == sorted(mine) for mine in result.modseqs)
    text = b"\n".join(result.listed)
    left = [int(u) for u in re.findall(rb"UID (\d+)", text)]
    assert left == sorted(set(left))
    current = [int(m) for m in MODSEQ.findall(text)]
    assert len(set(current)) == len(current) == len(left)
    files = list((harness.store.folder_path(ALICE, "Race") / "cur").iterdir())
    files += list((harness.store.folder_path(ALICE, "Race") / "new").iterdir())
    assert len(files) == len(left) == 80  # no message lost, none indexed twice


def test_every_message_keeps_its_uid_when_both_write(harness: ServerHarness) -> None:
    """A message indexed by another process while this one looked at the folder (and
    renamed meanwhile) was taken for expunged and indexed again under a new UID."""
    result = race(harness)
    assert result.unreported == 0
    left = sorted(int(u) for u in re.findall(rb"UID (\d+)", b"\n".join(result.listed)))
    every_uid = {uid for mine in result.uids for uid in mine}
    assert left == sorted(every_uid - result.expunged)


def test_connection_limits_hold_over_both_processes(tmp_path: Path) -> None:
    running = start(
        tmp_path,
        MAILRS_IMAP_MAX_CONNECTIONS_PER_IP="3",
        MAILRS_IMAP_MAX_CONNECTIONS_PER_USER="2",
    )
    try:
        # Per user: logins on both processes, two in all.
        pair = one_per_process(running, BOB)
        third = greeted(running)  # once the spare connections made above are let go
        reply = third.command(b"L", b'LOGIN bob@example.test "bob password"')[-1]
        assert reply.startswith(b"L NO [LIMIT]")
        # Per IP: three connections from 127.0.0.1 in all (bob's two and the third).
        refused = [RawClient(running.server.host, running.server.port) for _ in range(4)]
        assert all(client.greeting.startswith(b"* BYE") for client in refused)
        pair[0].command(b"o", b"LOGOUT")
        for client in (greeted(running), *pair, third, *refused):
            client.close()
    finally:
        running.stop()


def greeted(harness: ServerHarness) -> RawClient:
    """A new connection that is greeted, not refused (retried while the server lets go of
    connections the client has closed)."""
    for _ in range(300):
        client = RawClient(harness.server.host, harness.server.port)
        if client.greeting.startswith(b"* OK"):
            return client
        client.close()
        time.sleep(0.1)
    raise AssertionError("every connection refused")


def test_the_total_limit_holds_over_both_processes(tmp_path: Path) -> None:
    running = start(tmp_path, MAILRS_IMAP_MAX_CONNECTIONS="3")
    try:
        clients = [RawClient(running.server.host, running.server.port) for _ in range(6)]
        greetings = [client.greeting[:4] for client in clients]
        assert greetings.count(b"* OK") == 3
        assert greetings.count(b"* BY") == 3
        proc = running.server.proc
        assert proc is not None
        serving = {server_pid(running, c) for c in clients if c.greeting.startswith(b"* OK")}
        assert serving <= set(children_of(proc.pid))
        for client in clients:
            client.close()
    finally:
        running.stop()


def test_sigterm_stops_every_process(harness: ServerHarness) -> None:
    proc = harness.server.proc
    assert proc is not None
    children = children_of(proc.pid)
    first, second = one_per_process(harness)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0
    assert not any(alive(pid) for pid in children)
    assert first.is_closed() and second.is_closed()
    ended(harness)


def test_a_dead_child_stops_the_unit(harness: ServerHarness) -> None:
    proc = harness.server.proc
    assert proc is not None
    first, second = children_of(proc.pid)
    os.kill(first, signal.SIGKILL)
    assert proc.wait(timeout=60) == 1  # the supervisor restarts the whole
    assert wait_until(lambda: not alive(second), 30)
    ended(harness)


def test_children_stop_when_the_parent_is_killed(harness: ServerHarness) -> None:
    proc = harness.server.proc
    assert proc is not None
    children = children_of(proc.pid)
    proc.kill()
    proc.wait(timeout=30)
    assert wait_until(lambda: not any(alive(pid) for pid in children), 30)
    ended(harness)


def test_mailrs_up_runs_and_stops_imapd_and_its_children(tmp_path: Path) -> None:
    config = provision(tmp_path, users=(ALICE,))
    add_config(config, "imap", processes=2)
    settings = load_settings(config, environ={})
    assert settings.imap.processes == 2
    host, port = parse_hostport(settings.imap.listen_addr)
    with mailrs_up(config) as up:
        pid = service_pid(config, "imapd")
        assert pid is not None
        assert wait_until(lambda: len(children_of(pid)) == 2, 60)
        children = children_of(pid)
        client = RawClient(host, port)
        assert client.command(b"L", f'LOGIN {ALICE} "{PASSWORD}"'.encode())[-1].startswith(b"L OK")
        client.close()
        up.popen.send_signal(signal.SIGTERM)
        assert up.popen.wait(timeout=90) == 0
    assert not alive(pid)
    assert not any(alive(child) for child in children)
