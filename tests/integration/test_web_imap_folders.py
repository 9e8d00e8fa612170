"""Folders made, renamed and deleted in the web pages show in a real IMAP client's LIST."""

from __future__ import annotations

import imaplib
from pathlib import Path

from support.imap import ImapProcess
from support.web import ALICE, PASSWORDS, build_app, log_in, page_csrf


def _listed(imap: imaplib.IMAP4) -> set[str]:
    typ, data = imap.list()
    assert typ == "OK", data
    return {line.decode().rsplit(" ", 1)[-1].strip('"') for line in data if line}  # type: ignore[union-attr]


def test_web_folders_show_in_imap_list(config_path: Path, tmp_path: Path) -> None:
    app = build_app(config_path)
    client = log_in(app.test_client())
    server = ImapProcess(config_path, tmp_path / "imapd.log").start()
    try:
        token = page_csrf(client, "/folders")
        response = client.post("/folders", data={"csrf_token": token, "name": "Clients/Acme"})
        assert response.status_code == 302, response.get_data(as_text=True)
        imap = imaplib.IMAP4(server.host, server.port, timeout=30)
        imap.login(ALICE, PASSWORDS[ALICE])
        assert {"Clients", "Clients/Acme"} <= _listed(imap)
        client.post(
            "/folders/rename", data={"csrf_token": token, "folder": "Clients", "name": "Customers"}
        )
        assert {"Customers", "Customers/Acme"} <= _listed(imap)
        assert "Clients" not in _listed(imap)
        client.post("/folders/delete", data={"csrf_token": token, "folder": "Customers/Acme"})
        assert "Customers/Acme" not in _listed(imap)
        typ, _ = imap.select("Customers")
        assert typ == "OK"
        imap.logout()
    finally:
        server.stop()
        app.extensions["mailrs"].database.dispose()
