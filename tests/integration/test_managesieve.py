"""The ManageSieve server (``mailrs managesieve``) driven by sievelib's client and a raw socket."""

from __future__ import annotations

import base64
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sievelib.managesieve import Client
from support.config import free_port, write_config
from support.pipeline import add_config
from support.processes import mailrs_argv, running, service_env

from mailrs.accounts.users import add_user
from mailrs.config import load_settings
from mailrs.db.engine import Database
from mailrs.db.migrate import upgrade
from mailrs.sieve import storage
from mailrs.store.maildir import MaildirStore
from mailrs.tls import write_selfsigned

USER, PASSWORD = "bob@example.test", "bob password"
SCRIPT = 'require ["fileinto"];\nif header :contains "subject" "x" { fileinto "X"; }\n'


@dataclass
class Site:
    port: int
    db: Database
    cert: Path


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    config = write_config(tmp_path)
    cert, key = write_selfsigned(tmp_path, "localhost")
    port = free_port()
    add_config(config, "sieve", listen_addr=f"127.0.0.1:{port}")
    add_config(config, "imap", tls_cert_path=str(cert), tls_key_path=str(key))
    settings = load_settings(config, environ={})
    upgrade(settings.database_url)
    db = Database.from_settings(settings)
    with db.session() as session:
        add_user(session, MaildirStore(settings.maildir_path), USER, PASSWORD)
    argv = mailrs_argv("managesieve", "--config", str(config))
    with running(argv, "managesieve listening", env=service_env(config)):
        yield Site(port, db, cert)
    db.dispose()


def test_sievelib_client_manages_scripts_over_starttls(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """STARTTLS, AUTHENTICATE PLAIN, then every script command as Roundcube uses them."""
    monkeypatch.setenv("SSL_CERT_FILE", str(site.cert))  # trust our self-signed certificate
    client = Client("localhost", site.port)
    assert client.connect(USER, PASSWORD, starttls=True, authmech="PLAIN")
    assert "fileinto" in client.get_sieve_capabilities()
    assert client.get_implementation() == "mailrs"
    assert client.havespace("main", len(SCRIPT))
    assert client.checkscript(SCRIPT)
    assert not client.checkscript('fileinto "no require";')
    assert client.putscript("main", SCRIPT)
    assert not client.putscript("broken", "if true {")
    assert client.putscript("spare", "keep;\n")
    assert client.setactive("main")
    active, others = client.listscripts()
    assert (active, others) == ("main", ["spare"])
    assert client.getscript("main") == SCRIPT.rstrip("\n")  # sievelib joins the lines
    assert not client.deletescript("main")  # active
    assert client.renamescript("spare", "old")
    assert client.deletescript("old")
    assert client.setactive("")
    assert client.listscripts() == (None, ["main"])
    client.logout()
    with site.db.session() as session:
        assert storage.list_scripts(session, USER) == [("main", False)]
        # stored as sent: sievelib sends CRLF line ends
        assert storage.get_script(session, USER, "main") == SCRIPT.replace("\n", "\r\n")


def test_wrong_password_is_refused(site: Site) -> None:
    """A bad password gets NO; the session stays unauthenticated."""
    client = Client("127.0.0.1", site.port)
    assert not client.connect(USER, "wrong", authmech="PLAIN")


def _read_until_ok(sock: socket.socket) -> bytes:
    data = b""
    while not any(data.endswith(end) for end in (b"OK\r\n", b'"\r\n', b")\r\n")):
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def test_raw_client_errors_are_answered(site: Site) -> None:
    """Bad input gets NO or BYE, never a crash; a literal PUTSCRIPT works."""
    with socket.create_connection(("127.0.0.1", site.port), timeout=10) as sock:
        greeting = _read_until_ok(sock)
        assert b'"IMPLEMENTATION" "mailrs"' in greeting and b'"STARTTLS"' in greeting
        sock.sendall(b"LISTSCRIPTS\r\n")
        assert _read_until_ok(sock).startswith(b"NO ")
        plain = base64.b64encode(f"\0{USER}\0{PASSWORD}".encode())
        sock.sendall(b'AUTHENTICATE "PLAIN" "' + plain + b'"\r\n')
        assert _read_until_ok(sock).startswith(b"OK")
        body = b"keep;\r\n"
        sock.sendall(b'PUTSCRIPT "lit" {%d+}\r\n%s\r\n' % (len(body), body))
        assert _read_until_ok(sock).startswith(b"OK")
        sock.sendall(b'GETSCRIPT "nope"\r\n')
        assert _read_until_ok(sock).startswith(b"NO (NONEXISTENT)")
        sock.sendall(b'PUTSCRIPT "x"\r\n')
        assert _read_until_ok(sock).startswith(b"NO ")
        sock.sendall(b'NOOP "unterminated\r\n')
        assert _read_until_ok(sock).startswith(b"BYE")
