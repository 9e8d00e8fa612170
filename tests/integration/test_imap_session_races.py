"""Sessions racing on one mailbox: every untagged response must be legal for its session.

RFC 3501 7.2.6 (a FETCH shows no keyword the session was not told of in FLAGS), 7.4.1
(no EXPUNGE during FETCH, STORE or SEARCH) and the sequence-number bookkeeping
(EXPUNGE and FETCH name existing numbers; EXISTS never shrinks the count).
"""

from __future__ import annotations

import re
import threading

import pytest
from support.imap import ALICE, RawClient, ServerHarness, sample_message

PASSWORD = "alice password"
ROUNDS = 200
NO_EXPUNGE = {b"FETCH", b"STORE", b"SEARCH"}
FLAGS_ITEM = re.compile(rb"FLAGS \(([^)]*)\)")

pytestmark = [pytest.mark.imap_server(), pytest.mark.slow]


class CheckedSession:
    """A raw session that tracks what it was told and checks every untagged line."""

    def __init__(self, harness: ServerHarness, folder: str, qresync: bool = False) -> None:
        self.conn = RawClient(harness.server.host, harness.server.port, timeout=30)
        self.counter = 0
        self.announced: set[str] = set()
        self.exists = 0
        self.problems: list[str] = []
        self.qresync = qresync
        self.vanished = 0  # messages announced gone by VANISHED
        self.run(f'LOGIN {ALICE} "{PASSWORD}"')
        if qresync:
            self.run("ENABLE QRESYNC")
        self.run(f"SELECT {folder}")

    def run(self, text: str, literal: bytes | None = None) -> list[bytes]:
        """Send one command (with a non-synchronising literal), check its responses."""
        self.counter += 1
        tag = f"t{self.counter}".encode()
        if literal is None:
            self.conn.send(tag + b" " + text.encode() + b"\r\n")
        else:
            head = tag + b" " + text.encode() + b" {%d+}\r\n" % len(literal)
            self.conn.send(head + literal + b"\r\n")
        lines = self.conn.until_tagged(tag)
        words = text.split()
        name = words[1].upper().encode() if words[0].upper() == "UID" else b""
        name = name or words[0].upper().encode()
        uid = words[0].upper() == "UID"
        for line in lines[:-1]:
            self._check(line, name, uid, text)
        assert lines[-1].startswith(tag + b" OK"), (text, lines[-1])
        return lines

    def _problem(self, text: str, line: bytes, why: str) -> None:
        self.problems.append(f"{why}: {line!r} during {text!r}")

    def _check(self, line: bytes, name: bytes, uid: bool, text: str) -> None:
        parts = line.split(b" ", 3)
        if line.startswith(b"* VANISHED ") and not line.startswith(b"* VANISHED (EARLIER)"):
            if not self.qresync:
                self._problem(text, line, "VANISHED without QRESYNC enabled")
            if name in NO_EXPUNGE and not uid:
                self._problem(text, line, "VANISHED during a sequence-number command")
            self.vanished += _count(line.split(b" ", 2)[2])
            self.exists -= _count(line.split(b" ", 2)[2])
            if self.exists < 0:
                self._problem(text, line, "VANISHED more messages than the session had")
        elif line.startswith(b"* FLAGS "):
            found = FLAGS_ITEM.search(line)
            assert found is not None
            self.announced = {f.decode().lower() for f in found.group(1).split()}
        elif len(parts) >= 3 and parts[0] == b"*" and parts[1].isdigit():
            number, kind = int(parts[1]), parts[2]
            if kind == b"EXISTS":
                if number < self.exists:
                    self._problem(text, line, "EXISTS shrank without EXPUNGE")
                self.exists = number
            elif kind == b"EXPUNGE":
                if self.qresync:
                    self._problem(text, line, "EXPUNGE once QRESYNC is enabled")
                if name in NO_EXPUNGE and not uid:
                    self._problem(text, line, "EXPUNGE during a sequence-number command")
                if not 1 <= number <= self.exists:
                    self._problem(text, line, "EXPUNGE of a number the session never had")
                self.exists -= 1
            elif kind == b"FETCH":
                if not 1 <= number <= self.exists:
                    self._problem(text, line, "FETCH of a number beyond EXISTS")
                found = FLAGS_ITEM.search(line)
                if found is not None:
                    for flag in found.group(1).split():
                        keyword = flag.decode().lower()
                        if not keyword.startswith("\\") and keyword not in self.announced:
                            self._problem(text, line, "keyword used without being in FLAGS")

    def close(self) -> None:
        """LOGOUT and close."""
        self.conn.command(b"z", b"LOGOUT")
        self.conn.close()


def _count(uid_set: bytes) -> int:
    total = 0
    for item in uid_set.split(b","):
        first, _, last = item.partition(b":")
        total += abs(int(last or first) - int(first)) + 1
    return total


def test_racing_sessions_only_see_legal_responses(harness: ServerHarness) -> None:
    setup = CheckedSession(harness, "INBOX")
    setup.run("CREATE Race")
    for n in range(5):
        setup.run("APPEND Race", sample_message(f"race {n}"))
    setup.close()
    adder, storer, watcher = (CheckedSession(harness, "Race") for _ in range(3))
    resyncing = CheckedSession(harness, "Race", qresync=True)  # VANISHED, not EXPUNGE
    errors: list[BaseException] = []

    def adding() -> None:
        try:
            for n in range(ROUNDS):
                adder.run(f"STORE 1:* +FLAGS ($K{n})")
                if n % 25 == 24:  # keep the mailbox changing underneath
                    adder.run("APPEND Race", sample_message(f"more {n}"))
                    adder.run("STORE 1 +FLAGS.SILENT (\\Deleted)")
                    adder.run("EXPUNGE")
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    def storing() -> None:
        try:
            for n in range(ROUNDS):
                storer.run(f"STORE 1:2 {'+-'[n % 2]}FLAGS (\\Seen)")
                storer.run("FETCH 1:* (FLAGS)")
                storer.run("SEARCH KEYWORD $K1")
                if n % 10 == 0:
                    storer.run("UID STORE 1:* +FLAGS (\\Answered)")
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=adding), threading.Thread(target=storing)]
    for thread in threads:
        thread.start()
    watched = 0
    while any(t.is_alive() for t in threads):
        watcher.run("NOOP")
        resyncing.run("FETCH 1:* (FLAGS)" if watched % 2 else "NOOP")
        watched += 1
    for thread in threads:
        thread.join()
    assert not errors, errors
    for session in (adder, storer, watcher, resyncing):
        session.run("NOOP")
        assert session.problems == [], session.problems[:5]
        found = session.run("SEARCH ALL")[0].split()[2:]
        assert len(found) == session.exists  # its count kept in step with the mailbox
        # every keyword now in the mailbox has been announced to every session
        assert {f"$k{n}" for n in range(ROUNDS)} <= session.announced
        session.close()
    assert resyncing.vanished >= ROUNDS // 25  # every expunge reached it as VANISHED
    print(f"{ROUNDS} rounds, watcher ran {watched} NOOPs, no illegal response")
