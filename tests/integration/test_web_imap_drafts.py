"""A draft saved from the web compose page is in IMAP's Drafts with \\Draft; a draft an
IMAP client APPENDs is resumed in the web."""

from __future__ import annotations

import imaplib
import re
import time
from pathlib import Path

from support.imap import ImapProcess
from support.web import ALICE, PASSWORDS, build_app, log_in, page_csrf


def test_web_drafts_and_imap_drafts_are_the_same(config_path: Path, tmp_path: Path) -> None:
    app = build_app(config_path)
    client = log_in(app.test_client())
    server = ImapProcess(config_path, tmp_path / "imapd.log").start()
    try:
        token = page_csrf(client, "/compose")
        saved = client.post(
            "/compose/draft",
            data={"csrf_token": token, "to": "bob@example.test", "subject": "Half done"},
        )
        assert saved.status_code == 200, saved.get_data(as_text=True)
        uid = saved.get_json()["uid"]
        imap = imaplib.IMAP4(server.host, server.port, timeout=30)
        imap.login(ALICE, PASSWORDS[ALICE])
        typ, _ = imap.select("Drafts")
        assert typ == "OK"
        typ, data = imap.uid("FETCH", str(uid), "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        assert typ == "OK", data
        text = b"".join(p if isinstance(p, bytes) else b"".join(p) for p in data if p)
        assert b"\\Draft" in text and b"Subject: Half done" in text
        message = (
            b"From: alice@example.test\r\nTo: carol@example.test\r\n"
            b"Subject: From IMAP\r\n\r\nBody\r\n"
        )
        typ, data = imap.append(
            "Drafts", r"(\Draft \Seen)", imaplib.Time2Internaldate(time.time()), message
        )
        assert typ == "OK", data
        found = re.search(rb"APPENDUID \d+ (\d+)", data[0] or b"")
        assert found, data
        appended = int(found.group(1))
        page = client.get(f"/compose?draft={appended}").get_data(as_text=True)
        assert 'value="carol@example.test"' in page and 'value="From IMAP"' in page
        listing = client.get("/?folder=Drafts&view=list").get_data(as_text=True)
        assert f"/compose?draft={appended}" in listing
        imap.logout()
    finally:
        server.stop()
        app.extensions["mailrs"].database.dispose()
