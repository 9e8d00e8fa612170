"""Flags set by a real IMAP client show in the web API and back, with the same UID."""

from __future__ import annotations

import imaplib
import re
from pathlib import Path

from support.imap import ImapProcess
from support.web import ALICE, PASSWORDS, api_token, build_app, raw_message

from mailrs.store.maildir import MaildirStore


def _imap_flags(imap: imaplib.IMAP4, uid: int) -> set[str]:
    imap.noop()
    typ, data = imap.uid("FETCH", str(uid), "(FLAGS)")
    assert typ == "OK", data
    text = next(d for d in data if d).decode()  # type: ignore[union-attr]
    return set(re.search(r"FLAGS \(([^)]*)\)", text).group(1).split())  # type: ignore[union-attr]


def test_imap_and_web_see_each_others_flags(config_path: Path, tmp_path: Path) -> None:
    app = build_app(config_path)
    client = app.test_client()
    headers = api_token(client, ALICE)
    store: MaildirStore = app.extensions["mailrs"].store
    store.deliver(ALICE, raw_message("shared flags"))
    server = ImapProcess(config_path, tmp_path / "imapd.log").start()
    try:
        imap = imaplib.IMAP4(server.host, server.port, timeout=30)
        imap.login(ALICE, PASSWORDS[ALICE])
        imap.select("INBOX")
        typ, data = imap.uid("SEARCH", "ALL")
        (uid,) = [int(n) for n in data[0].split()]  # type: ignore[union-attr]

        typ, _ = imap.uid("STORE", str(uid), "+FLAGS", r"(\Seen \Flagged)")
        assert typ == "OK"
        listed = client.get("/api/messages", headers=headers).get_json()["messages"]
        assert [(m["uid"], m["flags"]) for m in listed] == [(uid, ["flagged", "seen"])]

        response = client.post(
            f"/api/messages/{uid}/flags", headers=headers, json={"remove": ["seen"]}
        )
        assert response.status_code == 200, response.get_json()
        assert _imap_flags(imap, uid) - {r"\Recent"} == {r"\Flagged"}  # \Recent is per session
        imap.logout()
    finally:
        server.stop()
        app.extensions["mailrs"].database.dispose()
