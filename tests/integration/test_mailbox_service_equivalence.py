"""A change made from the web is, to an IMAP session, a change made by another IMAP session.

A real ``imapd`` and the Flask app share one data directory. One IMAP session (the
*watcher*) sits in IDLE with CONDSTORE enabled while the same change is made twice:
once by a second IMAP session, once through the web API. The watcher must receive the
same untagged responses (FETCH with UID, FLAGS and MODSEQ; EXPUNGE) for both. The other
way round, what an IMAP client stores, moves, expunges or appends shows in the web API
with the same UIDs and flags, and is announced as a typed event.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from imapclient import IMAPClient
from support.imap import ImapProcess
from support.web import ALICE, PASSWORDS, api_token, build_app, raw_message

from mailrs.store.events import Expunged, FlagsChanged, NewMail, subscribe
from mailrs.store.mailbox import MailboxService

SEEN, FLAGGED, DELETED, RECENT = rb"\Seen", rb"\Flagged", rb"\Deleted", rb"\Recent"
WAIT_SECS = 20.0

type Response = tuple[Any, ...]


class Setup:
    """The app's test client with Alice's API token, the running imapd and its address."""

    def __init__(self, client: FlaskClient, headers: dict[str, str], server: ImapProcess):
        self.client = client
        self.headers = headers
        self.server = server

    def imap(self, folder: str = "INBOX", condstore: bool = False) -> IMAPClient:
        """A logged-in IMAP session with ``folder`` selected."""
        imap = IMAPClient(self.server.host, self.server.port, ssl=False, timeout=30)
        imap.login(ALICE, PASSWORDS[ALICE])
        if condstore:
            imap.enable("CONDSTORE")
        imap.select_folder(folder)
        return imap

    def listed(self, folder: str) -> dict[int, set[str]]:
        """UID -> flag names of a folder, as the web API lists them."""
        response = self.client.get(f"/api/messages?folder={folder}", headers=self.headers)
        assert response.status_code == 200, response.get_json()
        return {m["uid"]: set(m["flags"]) for m in response.get_json()["messages"]}

    def web(self, method: str, path: str, **json: Any) -> dict[str, Any]:
        """One API call that must succeed; its JSON answer."""
        response = self.client.open(path, method=method, headers=self.headers, json=json or None)
        assert response.status_code == 200, response.get_json()
        result: dict[str, Any] = response.get_json()
        return result


@pytest.fixture
def setup(config_path: Path, tmp_path: Path) -> Iterator[Setup]:
    app = build_app(config_path)
    resources = app.extensions["mailrs"]
    with MailboxService(resources.store, ALICE) as mailbox:
        for n in range(6):
            mailbox.deliver(raw_message(f"message {n}"), mtime=1_700_000_000 + n)
    client = app.test_client()
    headers = api_token(client, ALICE)
    server = ImapProcess(config_path, tmp_path / "imapd.log").start()
    try:
        yield Setup(client, headers, server)
    finally:
        server.stop()
        resources.database.dispose()


def _updates(responses: list[Response]) -> list[Response]:
    """The untagged updates that matter, normalised: FETCH (without \\Recent) and EXPUNGE."""
    out: list[Response] = []
    for response in responses:
        if len(response) >= 2 and response[1] == b"EXPUNGE":
            out.append((response[0], "EXPUNGE"))
        elif len(response) >= 3 and response[1] == b"FETCH":
            items = list(response[2])
            data = dict(zip(items[::2], items[1::2], strict=True))
            flags = frozenset(data.get(b"FLAGS", ())) - {RECENT}
            modseq = data.get(b"MODSEQ", (None,))[0]
            out.append((response[0], "FETCH", data.get(b"UID"), flags, modseq))
    return out


def observe(watcher: IMAPClient, action: Callable[[], object], expect: int) -> list[Response]:
    """What the watcher hears in IDLE while ``action`` runs (``expect`` updates, then DONE)."""
    watcher.idle()
    try:
        action()
        heard: list[Response] = []
        deadline = time.monotonic() + WAIT_SECS
        while len(_updates(heard)) < expect and time.monotonic() < deadline:
            heard += watcher.idle_check(timeout=1)
    finally:
        _, rest = watcher.idle_done()
    return _updates(heard + list(rest))


def _modseq(imap: IMAPClient, uid: int) -> int:
    return int(imap.fetch([uid], ["MODSEQ"])[uid][b"MODSEQ"][0])


def test_web_flags_reach_an_idle_imap_session_like_another_sessions(setup: Setup) -> None:
    watcher, other = setup.imap(condstore=True), setup.imap()
    uids = watcher.search("ALL")
    assert len(uids) == 6
    start = max(_modseq(watcher, uid) for uid in uids)

    by_imap = observe(watcher, lambda: other.add_flags([uids[0]], [SEEN, FLAGGED]), 1)
    by_web = observe(
        watcher,
        lambda: setup.web("POST", f"/api/messages/{uids[1]}/flags", add=["seen", "flagged"]),
        1,
    )
    assert by_imap == [(1, "FETCH", uids[0], frozenset({SEEN, FLAGGED}), start + 1)]
    assert by_web == [(2, "FETCH", uids[1], frozenset({SEEN, FLAGGED}), start + 2)]

    by_imap = observe(watcher, lambda: other.remove_flags([uids[0]], [SEEN]), 1)
    by_web = observe(
        watcher, lambda: setup.web("POST", f"/api/messages/{uids[1]}/flags", remove=["seen"]), 1
    )
    assert by_imap == [(1, "FETCH", uids[0], frozenset({FLAGGED}), start + 3)]
    assert by_web == [(2, "FETCH", uids[1], frozenset({FLAGGED}), start + 4)]
    # a third session sees the same flags and MODSEQ for both messages
    third = setup.imap(condstore=True)
    fetched = third.fetch(uids[:2], ["FLAGS", "MODSEQ"])
    assert [(set(fetched[u][b"FLAGS"]) - {RECENT}, fetched[u][b"MODSEQ"][0]) for u in uids[:2]] == [
        ({FLAGGED}, start + 3),
        ({FLAGGED}, start + 4),
    ]
    for imap in (watcher, other, third):
        imap.logout()


def test_web_move_and_delete_reach_an_idle_imap_session_like_another_sessions(
    setup: Setup,
) -> None:
    watcher, other = setup.imap(condstore=True), setup.imap()
    uids = watcher.search("ALL")
    other.add_flags([uids[0], uids[1]], [FLAGGED])
    observe(watcher, lambda: None, 2)  # take in those two flag changes first

    # MOVE to Archive: IMAP's UID MOVE and the web's move give the same EXPUNGE
    by_imap = observe(watcher, lambda: other.move([uids[0]], "Archive"), 1)
    moved: dict[str, Any] = {}
    by_web = observe(
        watcher,
        lambda: moved.update(setup.web("POST", f"/api/messages/{uids[1]}/move", to="Archive")),
        1,
    )
    assert by_imap == [(1, "EXPUNGE")] and by_web == [(1, "EXPUNGE")]
    archive = setup.imap("Archive")
    assert archive.search("ALL") == [1, 2] and moved == {"folder": "Archive", "uid": 2}
    flags = archive.get_flags([1, 2])
    assert {u: set(f) - {RECENT} for u, f in flags.items()} == {1: {FLAGGED}, 2: {FLAGGED}}
    assert setup.listed("Archive") == {1: {"flagged"}, 2: {"flagged"}}

    # delete: the web moves to Trash (EXPUNGE here), then removes for good from Trash
    by_imap = observe(watcher, lambda: other.move([uids[2]], "Trash"), 1)
    by_web = observe(watcher, lambda: setup.web("DELETE", f"/api/messages/{uids[3]}"), 1)
    assert by_imap == [(1, "EXPUNGE")] and by_web == [(1, "EXPUNGE")]
    trash_watcher, trash_other = setup.imap("Trash"), setup.imap("Trash")
    assert trash_watcher.search("ALL") == [1, 2]

    trash_other.add_flags([1], [DELETED])  # IMAP deletes in two steps: \\Deleted, EXPUNGE
    assert observe(trash_watcher, lambda: None, 1) == [(1, "FETCH", 1, frozenset({DELETED}), None)]
    by_imap = observe(trash_watcher, trash_other.expunge, 1)
    assert by_imap == [(1, "EXPUNGE")]
    by_web = observe(trash_watcher, lambda: setup.web("DELETE", "/api/messages/2?folder=Trash"), 1)
    assert by_web == [(1, "EXPUNGE")]
    assert trash_watcher.search("ALL") == [] and setup.listed("Trash") == {}
    for imap in (watcher, other, archive, trash_watcher, trash_other):
        imap.logout()


def test_imap_changes_show_in_the_web_with_the_same_uids_and_flags(
    setup: Setup, config_path: Path
) -> None:
    from mailrs.config import load_settings

    settings = load_settings(config_path, environ={})
    imap = setup.imap()
    uids = imap.search("ALL")
    with subscribe(settings, ALICE) as feed:
        imap.add_flags([uids[0]], [SEEN, FLAGGED])
        listed = setup.listed("INBOX")
        assert listed[uids[0]] == {"seen", "flagged"}
        assert all(listed[u] == set() for u in uids[1:])
        event = feed.get_event(5)
        assert isinstance(event, FlagsChanged)
        assert (event.folder, event.uids, event.source) == ("INBOX", (uids[0],), "imap")
        assert event.modseq == int(imap.fetch([uids[0]], ["MODSEQ"])[uids[0]][b"MODSEQ"][0])

        imap.move([uids[0]], "Archive")
        assert uids[0] not in setup.listed("INBOX")
        assert setup.listed("Archive") == {1: {"seen", "flagged"}}
        expunged = [feed.get_event(5), feed.get_event(5)]
        assert {type(e) for e in expunged} == {NewMail, Expunged}

        imap.add_flags([uids[1]], [DELETED])
        assert setup.listed("INBOX")[uids[1]] == {"deleted"}
        imap.expunge()
        assert set(setup.listed("INBOX")) == set(uids[2:])

        answer = imap.append("Drafts", raw_message("draft"), flags=[SEEN, rb"\Draft", b"$Later"])
        appended = int(answer.split(b"APPENDUID")[1].split()[1].rstrip(b"]"))
        assert setup.listed("Drafts") == {appended: {"seen", "draft"}}
        drafts = setup.imap("Drafts")
        assert set(drafts.get_flags([appended])[appended]) - {RECENT} == {
            SEEN,
            rb"\Draft",
            b"$Later",
        }
        drafts.logout()
    imap.logout()
