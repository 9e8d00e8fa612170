"""Integration tests: the real ``imapd`` process, driven by imaplib, IMAPClient and raw bytes."""

from __future__ import annotations

import ctypes
import datetime as dt
import imaplib
import os
import random
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from imapclient import IMAPClient
from imapclient.exceptions import LoginError
from support.imap import ALICE, ALICE_PASSWORD, ImapProcess, RawClient

from mailrs.accounts.users import add_user
from mailrs.config import Settings
from mailrs.db.engine import Database
from mailrs.store.maildir import MaildirStore

FIRST = b"From: bob@example.test\r\nTo: alice@example.test\r\nSubject: one\r\n\r\nHello Alice\r\n"
SECOND = (
    b"From: carol@example.test\r\nSubject: two\r\n\r\nSecond body\r\n\r\nwith two paragraphs\r\n"
)
THIRD = b"From: dave@example.test\r\nSubject: three\r\n\r\nThird\r\n"


@pytest.fixture
def mail(database: Database, store: MaildirStore) -> MaildirStore:
    """Alice's account with two messages in INBOX."""
    with database.session() as session:
        add_user(session, store, ALICE, ALICE_PASSWORD)
    store.deliver(ALICE, FIRST, mtime=1_700_000_000)
    store.deliver(ALICE, SECOND, mtime=1_700_000_100)
    return store


@pytest.fixture
def imap(config_path: Path, tmp_path: Path, mail: MaildirStore) -> Iterator[ImapProcess]:
    """The IMAP server on this test's free port; stopped when the test ends."""
    server = ImapProcess(config_path, tmp_path / "imapd.log")
    try:
        yield server.start()
    finally:
        server.stop()
    assert "Traceback" not in server.log_path.read_text(), "the server logged an unexpected error"


def client(imap: ImapProcess, login: bool = True) -> IMAPClient:
    """An IMAPClient connection, logged in as Alice unless told otherwise."""
    conn = IMAPClient(imap.host, imap.port, ssl=False, timeout=10)
    if login:
        conn.login(ALICE, ALICE_PASSWORD)
    return conn


def raw(imap: ImapProcess, login: bool = False) -> RawClient:
    """A raw connection, logged in as Alice if asked."""
    conn = RawClient(imap.host, imap.port)
    if login:
        assert conn.command(b"L", f'LOGIN {ALICE} "{ALICE_PASSWORD}"'.encode())[-1].startswith(
            b"L OK"
        )
    return conn


def maildir_flags(store: MaildirStore) -> list[str]:
    """The flags of every INBOX file, oldest message first."""
    return [m.flags for m in store.list_messages(ALICE)]


# -- greeting, capability, login -------------------------------------------------------------


def test_greeting_capability_and_logout(imap: ImapProcess) -> None:
    conn = imaplib.IMAP4(imap.host, imap.port, timeout=10)
    assert conn.welcome.startswith(b"* OK [CAPABILITY IMAP4rev1")
    assert conn.welcome.endswith(b"mailrs IMAP ready")
    typ, data = conn.capability()
    assert typ == "OK" and b"IMAP4rev1" in data[0].split()
    typ, data = conn.logout()
    assert typ == "BYE"


def test_login_ok_and_wrong_password(imap: ImapProcess) -> None:
    conn = imaplib.IMAP4(imap.host, imap.port, timeout=10)
    with pytest.raises(imaplib.IMAP4.error, match=r"\[AUTHENTICATIONFAILED\]"):
        conn.login(ALICE, "wrong password")
    with pytest.raises(imaplib.IMAP4.error, match=r"\[AUTHENTICATIONFAILED\]"):
        conn.login("nobody@example.test", ALICE_PASSWORD)
    typ, _ = conn.login(ALICE, ALICE_PASSWORD)
    assert typ == "OK"
    conn.logout()

    other = client(imap, login=False)
    with pytest.raises(LoginError, match="AUTHENTICATIONFAILED"):
        other.login(ALICE, "nope nope nope")
    assert other.login(ALICE, ALICE_PASSWORD)
    other.logout()


def test_login_with_quoted_strings_and_literals(imap: ImapProcess) -> None:
    conn = raw(imap)
    conn.send(b"a1 LOGIN {18}\r\n")
    assert conn.read_line().startswith(b"+ ")
    password = ALICE_PASSWORD.encode()
    conn.send(b"alice@example.test {%d+}\r\n%s\r\n" % (len(password), password))
    assert conn.until_tagged(b"a1")[-1].startswith(b"a1 OK [CAPABILITY IMAP4rev1")
    conn.close()

    conn = raw(imap)
    reply = conn.command(b"a2", b'LOGIN "ALICE@example.test" "correct horse battery"')
    assert reply[-1].startswith(b"a2 OK")
    conn.close()


def test_commands_before_login_are_refused(imap: ImapProcess) -> None:
    conn = raw(imap)
    assert conn.command(b"a1", b"SELECT INBOX") == [b"a1 BAD Log in first"]
    assert conn.command(b"a2", b'LIST "" *') == [b"a2 BAD Log in first"]
    assert conn.command(b"a3", b"FETCH 1 FLAGS") == [b"a3 BAD Log in first"]
    assert conn.command(b"a4", b"NOOP") == [b"a4 OK NOOP completed"]
    conn.close()


# -- LIST, SELECT, EXAMINE ----------------------------------------------------------------------


def test_list(imap: ImapProcess, mail: MaildirStore) -> None:
    mail.create_folder(ALICE, "Archive/2024")
    mail.create_folder(ALICE, "Entw\u00fcrfe")
    conn = client(imap)
    folders = {name: (flags, delimiter) for flags, delimiter, name in conn.list_folders()}
    assert list(folders)[0] == "INBOX"
    assert set(folders) == {
        "INBOX", "Sent", "Drafts", "Trash", "Junk", "Archive", "Archive/2024", "Entw\u00fcrfe"
    }  # fmt: skip
    assert all(delimiter == b"/" for _, delimiter in folders.values())
    assert b"\\HasNoChildren" in folders["INBOX"][0]
    assert b"\\Sent" in folders["Sent"][0] and b"\\Trash" in folders["Trash"][0]
    assert set(folders["Archive"][0]) == {b"\\HasChildren", b"\\Archive"}
    assert [name for _, _, name in conn.list_folders(pattern="inbox")] == ["INBOX"]
    assert [name for _, _, name in conn.list_folders(pattern="J%")] == ["Junk"]
    assert [name for _, _, name in conn.list_folders("Archive/", "%")] == ["Archive/2024"]
    assert conn.select_folder("Entw\u00fcrfe")[b"EXISTS"] == 0
    conn.logout()

    conn = raw(imap, login=True)
    reply = conn.command(b"a1", b'LIST "" ""')
    assert reply == [b'* LIST (\\Noselect) "/" ""', b"a1 OK LIST completed"]
    reply = conn.command(b"a2", b'LIST "" "Entw*"')
    assert reply == [b'* LIST (\\HasNoChildren) "/" Entw&APw-rfe', b"a2 OK LIST completed"]
    conn.close()


def test_select_reports_mailbox_state(imap: ImapProcess) -> None:
    conn = client(imap)
    info = conn.select_folder("INBOX")
    assert info[b"EXISTS"] == 2
    assert info[b"RECENT"] == 2
    assert info[b"UIDVALIDITY"] > 0
    assert info[b"UIDNEXT"] == 3
    assert info[b"READ-WRITE"]
    assert b"\\Seen" in info[b"FLAGS"] and b"\\Seen" in info[b"PERMANENTFLAGS"]
    conn.logout()
    # the session that saw them first claimed them: no longer recent
    conn = client(imap)
    assert conn.select_folder("INBOX")[b"RECENT"] == 0
    assert conn.select_folder("Sent")[b"EXISTS"] == 0
    conn.logout()


def test_select_unknown_or_invalid_mailbox_is_no(imap: ImapProcess) -> None:
    conn = raw(imap, login=True)
    assert conn.command(b"a0", b"SELECT INBOX")[-1].startswith(b"a0 OK [READ-WRITE]")
    assert conn.command(b"a1", b"SELECT Nope")[-1].startswith(b"a1 NO [NONEXISTENT]")
    assert conn.command(b"a2", b'SELECT "../x"')[-1].startswith(b"a2 NO [CANNOT]")
    assert conn.command(b"a3", b"FETCH 1 FLAGS") == [b"a3 BAD No mailbox selected"]
    conn.close()


def test_examine_is_read_only(imap: ImapProcess, mail: MaildirStore) -> None:
    conn = client(imap)
    info = conn.select_folder("INBOX", readonly=True)
    assert info[b"READ-ONLY"] and info[b"EXISTS"] == 2
    fetched = conn.fetch([1], ["BODY[]", "FLAGS"])
    assert fetched[1][b"BODY[]"] == FIRST
    assert b"\\Seen" not in fetched[1][b"FLAGS"]
    conn.logout()
    assert maildir_flags(mail) == ["", ""]


# -- FETCH -----------------------------------------------------------------------------------------


def test_fetch_data_items(imap: ImapProcess) -> None:
    conn = client(imap)
    conn.select_folder("INBOX")
    fetched = conn.fetch(
        [1, 2],
        ["UID", "FLAGS", "RFC822.SIZE", "INTERNALDATE", "BODY.PEEK[HEADER]", "BODY.PEEK[]"],
    )
    assert sorted(fetched) == [1, 2]
    first, second = fetched[1], fetched[2]
    assert first[b"BODY[]"] == FIRST and second[b"BODY[]"] == SECOND
    assert first[b"RFC822.SIZE"] == len(FIRST)
    assert first[b"BODY[HEADER]"] == FIRST[: FIRST.index(b"\r\n\r\n") + 4]
    assert first[b"INTERNALDATE"].replace(tzinfo=None) == dt.datetime.fromtimestamp(1_700_000_000)
    assert (first[b"SEQ"], second[b"SEQ"]) == (1, 2)  # keyed by UID: UID FETCH 1,2
    assert b"\\Seen" not in first[b"FLAGS"]  # PEEK leaves the flags alone
    text = conn.fetch([2], ["BODY.PEEK[TEXT]"])[2][b"BODY[TEXT]"]
    assert text == b"Second body\r\n\r\nwith two paragraphs\r\n"
    conn.logout()


def test_fetch_sequence_sets_with_imaplib(imap: ImapProcess, mail: MaildirStore) -> None:
    mail.deliver(ALICE, THIRD)
    conn = imaplib.IMAP4(imap.host, imap.port, timeout=10)
    conn.login(ALICE, ALICE_PASSWORD)
    conn.select("INBOX")
    typ, data = conn.fetch("1,3", "(UID)")
    assert typ == "OK" and data == [b"1 (UID 1)", b"3 (UID 3)"]
    typ, data = conn.fetch("2:*", "(RFC822.SIZE)")
    assert data == [b"2 (RFC822.SIZE %d)" % len(SECOND), b"3 (RFC822.SIZE %d)" % len(THIRD)]
    typ, data = conn.uid("FETCH", "2:3", "(BODY.PEEK[])")
    assert typ == "OK"
    assert data[0][0] == b"2 (UID 2 BODY[] {%d}" % len(SECOND) and data[0][1] == SECOND
    assert data[2][1] == THIRD
    typ, data = conn.uid("FETCH", "99:*", "FLAGS")  # * is the highest UID: 3
    assert typ == "OK" and data[0].startswith(b"3 (UID 3 FLAGS")
    typ, data = conn.uid("FETCH", "50:60", "FLAGS")
    assert typ == "OK" and data == [None]
    with pytest.raises(imaplib.IMAP4.error, match="invalid sequence set"):
        conn.fetch("4", "(FLAGS)")
    typ, _ = conn.noop()  # the connection is still fine
    assert typ == "OK"
    conn.logout()


def test_fetch_body_sets_seen_and_it_persists(imap: ImapProcess, mail: MaildirStore) -> None:
    conn = imaplib.IMAP4(imap.host, imap.port, timeout=10)
    conn.login(ALICE, ALICE_PASSWORD)
    conn.select("INBOX")
    typ, data = conn.fetch("2", "(BODY[TEXT])")
    assert typ == "OK"
    head, body = data[0]
    assert body == b"Second body\r\n\r\nwith two paragraphs\r\n"
    assert b"\\Seen" in head + data[1]  # FLAGS comes with the response that set it
    typ, data = conn.fetch("1", "(BODY[])")
    assert data[0][1] == FIRST
    conn.logout()
    assert maildir_flags(mail) == ["S", "S"]
    assert all(":2,S" in m.filename for m in mail.list_messages(ALICE))

    again = client(imap)
    again.select_folder("INBOX")
    flags = again.get_flags([1, 2])
    assert all(b"\\Seen" in f for f in flags.values())
    again.logout()


def test_delivery_while_selected_shows_up_on_noop(imap: ImapProcess, mail: MaildirStore) -> None:
    conn = client(imap)
    conn.select_folder("INBOX")
    mail.deliver(ALICE, THIRD)
    _, updates = conn.noop()
    assert updates == [(3, b"EXISTS"), (3, b"RECENT")]
    assert conn.fetch([3], ["BODY.PEEK[]"])[3][b"BODY[]"] == THIRD
    assert conn.noop()[1] == []
    first_key = mail.list_messages(ALICE)[0].key
    mail.delete(ALICE, "INBOX", first_key)
    _, updates = conn.noop()
    assert updates == [(1, b"EXPUNGE")]
    assert conn.fetch([1, 2, 3], ["FLAGS"]) == {
        2: {b"FLAGS": (b"\\Recent",), b"SEQ": 1},
        3: {b"FLAGS": (b"\\Recent",), b"SEQ": 2},
    }
    conn.logout()


def test_uids_are_stable_across_restart(imap: ImapProcess) -> None:
    conn = client(imap)
    before = conn.select_folder("INBOX")
    uids = conn.fetch([1, 2], ["UID"])
    conn.logout()
    imap.restart()
    conn = client(imap)
    after = conn.select_folder("INBOX")
    assert after[b"UIDVALIDITY"] == before[b"UIDVALIDITY"]
    assert after[b"UIDNEXT"] == before[b"UIDNEXT"]
    assert conn.fetch([1, 2], ["UID"]) == uids
    conn.logout()


# -- bad input -----------------------------------------------------------------------------------


def test_unknown_and_malformed_commands_are_bad(imap: ImapProcess) -> None:
    conn = raw(imap)
    assert conn.command(b"a1", b"FROBNICATE now") == [b"a1 BAD unknown command FROBNICATE"]
    assert conn.command(b"a2", b"LOGIN onlyuser")[0].startswith(b"a2 BAD")
    assert conn.command(b"a3", b'LOGIN "unterminated')[0].startswith(b"a3 BAD")
    assert conn.command(b"a4", b"CAPABILITY")[-1] == b"a4 OK CAPABILITY completed"
    conn.close()

    conn = raw(imap, login=True)
    conn.command(b"s", b"SELECT INBOX")
    assert conn.command(b"b1", b"FETCH 1 (ENVELOPE BOGUS)")[0].startswith(b"b1 BAD")
    assert conn.command(b"b2", b"FETCH 1:x FLAGS")[0].startswith(b"b2 BAD")
    assert conn.command(b"b3", b"UID STORE 1 +FLAGS (\\Recent)")[0].startswith(b"b3 BAD")
    assert conn.command(b"b4", b"FETCH 1 FLAGS")[-1] == b"b4 OK FETCH completed"
    conn.close()


def test_garbage_long_lines_and_huge_literals(imap: ImapProcess) -> None:
    conn = raw(imap)
    conn.send(b"\x00\xff\xfe\x80 garbage\r\n")
    assert conn.read_line().startswith(b"* BAD")
    conn.send(b"\r\n")
    assert conn.read_line().startswith(b"* BAD")
    conn.send(b"a1 NOOP " + b"x" * 200_000 + b"\r\n")
    assert conn.read_line() == b"a1 BAD Command line too long"
    conn.send(b"a2 LOGIN {999999999}\r\n")
    assert conn.read_line() == b"a2 BAD [TOOBIG] Literal too large"
    conn.send(b"a3 LOGIN {99999999999999999999999999}\r\n")
    assert conn.read_line() == b"a3 BAD [TOOBIG] Literal too large"
    assert conn.command(b"a4", b"NOOP") == [b"a4 OK NOOP completed"]
    conn.send(b"a5 LOGIN {999999999+}\r\n")
    assert conn.read_line() == b"a5 BAD [TOOBIG] Literal too large"
    assert conn.read_line().startswith(b"* BYE")
    assert conn.is_closed()
    conn.close()


def test_random_input_never_shows_a_traceback(imap: ImapProcess) -> None:
    rng = random.Random(3501)
    words = [
        b"FETCH", b"UID", b"LOGIN", b"SELECT", b"EXAMINE", b"LIST", b"NOOP", b"1:*", b"*",
        b"(", b")", b"[", b"]", b"BODY[]", b"BODY.PEEK[HEADER]", b"FLAGS", b'"', b"{3}",
        b"\\", b"INBOX", b"%", b"<1.2>", b"0", b"4294967296", b"\xc3\xa9", b"\x01",
    ]  # fmt: skip
    conn = raw(imap, login=True)
    conn.command(b"s", b"SELECT INBOX")
    for number in range(300):
        tag = b"r%d" % number
        line = tag + b" " + b" ".join(rng.choice(words) for _ in range(rng.randint(1, 6)))
        if b"{3}" in line:
            line = line.replace(b"{3}", b"x")
        conn.send(line + b"\r\n")
        reply = conn.until_tagged(tag)
        assert reply[-1].startswith(tag + b" "), reply
    assert conn.command(b"z", b"NOOP")[-1] == b"z OK NOOP completed"
    conn.close()
    assert b"Traceback" not in conn.received
    assert b"SERVERBUG" not in conn.received
    assert b'File "' not in conn.received


# -- process behaviour -----------------------------------------------------------------------------


def test_idle_timeout_says_bye(config_path: Path, tmp_path: Path, mail: MaildirStore) -> None:
    server = ImapProcess(config_path, tmp_path / "imapd.log", env={"MAILRS_IMAP_TIMEOUT_SECS": "1"})
    try:
        server.start()
        conn = RawClient(server.host, server.port)
        assert conn.read_line().startswith(b"* BYE")
        assert conn.is_closed()
        conn.close()
    finally:
        server.stop()


def test_sigterm_exits_cleanly_with_clients_connected(imap: ImapProcess) -> None:
    conn = raw(imap, login=True)
    assert imap.stop() == 0
    assert conn.is_closed()
    assert b"* BYE" in conn.received
    conn.close()


def test_sigterm_to_a_worker_thread_still_stops_the_server(imap: ImapProcess) -> None:
    """The kernel may hand a process's SIGTERM to any of its threads; imapd must stop
    all the same, not when its loop next wakes (one run in ~40 hung that way)."""
    conn = raw(imap, login=True)  # the login ran on the executor's threads: they exist
    assert imap.proc is not None
    pid = imap.proc.pid
    others = [int(t) for t in os.listdir(f"/proc/{pid}/task") if int(t) != pid]
    assert others, "imapd has no thread besides the main one"
    libc = ctypes.CDLL(None, use_errno=True)
    assert libc.tgkill(pid, others[0], signal.SIGTERM) == 0, os.strerror(ctypes.get_errno())
    imap.proc.wait(timeout=60)  # without the wake-up the loop sleeps up to its next timer
    assert imap.stop() == 0
    assert b"* BYE" in conn.received or conn.is_closed()
    conn.close()


def run_imapd(config: Path) -> subprocess.CompletedProcess[str]:
    """Run ``python -m imapd --config CONFIG`` to its end (for start-up failures)."""
    return subprocess.run(
        [sys.executable, "-m", "imapd", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_port_in_use_and_bad_config(config_path: Path, settings: Settings, tmp_path: Path) -> None:
    host, _, port = settings.imap.listen_addr.rpartition(":")
    with socket.socket() as taken:
        taken.bind((host, int(port)))
        taken.listen()
        result = run_imapd(config_path)
    assert result.returncode == 1
    assert result.stderr.startswith(f"imapd: cannot listen on {settings.imap.listen_addr}: ")
    assert result.stdout == ""

    missing = tmp_path / "missing.toml"
    result = run_imapd(missing)
    assert result.returncode == 2
    assert result.stderr.strip() == f"imapd: config file {missing} does not exist"
