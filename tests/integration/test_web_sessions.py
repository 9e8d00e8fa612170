"""Sessions that end, against real gunicorn (gevent worker): logout, password change,
delete and re-add, disable, the revoke endpoint, the settings page, no-store headers,
oversized WebSocket frame headers and slow request headers."""

from __future__ import annotations

import base64
import json
import os
import select
import socket
import struct
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.chat_client import Browser
from support.config import provision
from support.gunicorn import WebServer, api_token, gunicorn_web, request
from support.processes import flask_mail_user, service_env, wait_until

pytestmark = pytest.mark.slow

ALICE = "alice@example.test"
BOB = "bob@example.test"
CAROL = "carol@example.test"
DAVE = "dave@example.test"


def password(address: str) -> str:
    return f"{address.split('@')[0]} password"


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[WebServer, Path]]:
    config = provision(tmp_path_factory.mktemp("sessions"), users=(ALICE, BOB, CAROL, DAVE))
    with gunicorn_web(config, MAILRS_AUTH_BASE_DELAY_SECS="0") as server:
        yield server, config


def get(server: WebServer, path: str, cookie: str = "", token: str = "") -> tuple[int, dict]:
    headers = {}
    if cookie:
        headers["Cookie"] = cookie
    if token:
        headers["Authorization"] = f"Bearer {token}"
    status, response_headers, _ = request(server.host, server.port, "GET", path, headers=headers)
    return status, response_headers


def post_form(server: WebServer, browser: Browser, path: str, fields: dict[str, str]) -> int:
    body = urllib.parse.urlencode({"csrf_token": browser.csrf, **fields}).encode()
    status, _, _ = request(
        server.host,
        server.port,
        "POST",
        path,
        body=body,
        headers={"Cookie": browser.cookie, "Content-Type": "application/x-www-form-urlencoded"},
    )
    return status


def token_of(server: WebServer, address: str, secret: str = "") -> str:
    status, body = api_token(server, address, secret or password(address))
    assert status == 200, body
    return body["token"]


def test_logout_ends_the_session_so_a_copied_cookie_is_refused(
    web: tuple[WebServer, Path],
) -> None:
    server, _ = web
    browser = Browser(server.base, ALICE, password(ALICE))
    copied = browser.cookie
    assert get(server, "/", cookie=copied)[0] == 200
    assert post_form(server, browser, "/logout", {}) == 302
    status, headers = get(server, "/", cookie=copied)
    assert status == 302 and "/login" in headers["location"]
    # the copy cannot change flags either
    body = urllib.parse.urlencode({"csrf_token": browser.csrf, "seen": "1"}).encode()
    status, _, _ = request(
        server.host,
        server.port,
        "POST",
        "/message/1/flags",
        body=body,
        headers={"Cookie": copied, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status in (302, 400, 401)
    assert get(server, "/api/folders", cookie=copied)[0] == 401


def test_password_change_revokes_old_tokens_and_cookies(web: tuple[WebServer, Path]) -> None:
    server, _ = web
    old_token = token_of(server, BOB)
    browser = Browser(server.base, BOB, password(BOB))
    other_browser = Browser(server.base, BOB, password(BOB))
    assert get(server, "/api/folders", token=old_token)[0] == 200
    new = "bob new password 2"
    wrong = {"current_password": "not it", "new_password": new}
    assert post_form(server, browser, "/settings/password", wrong) == 303
    assert get(server, "/api/folders", token=old_token)[0] == 200
    fields = {"current_password": password(BOB), "new_password": new}
    assert post_form(server, browser, "/settings/password", fields) == 302
    assert get(server, "/api/folders", token=old_token)[0] == 401
    assert get(server, "/", cookie=browser.cookie)[0] == 302
    assert get(server, "/", cookie=other_browser.cookie)[0] == 302
    assert api_token(server, BOB, password(BOB))[0] == 401
    fresh = token_of(server, BOB, new)
    assert get(server, "/api/folders", token=fresh)[0] == 200


def test_cli_passwd_disable_and_delete_revoke(web: tuple[WebServer, Path]) -> None:
    server, config = web
    env = service_env(config)
    token = token_of(server, DAVE)
    browser = Browser(server.base, DAVE, password(DAVE))
    flask_mail_user(env, "passwd", DAVE, "dave other password")
    assert get(server, "/api/folders", token=token)[0] == 401
    assert get(server, "/", cookie=browser.cookie)[0] == 302

    token = token_of(server, DAVE, "dave other password")
    flask_mail_user(env, "disable", DAVE)
    assert get(server, "/api/folders", token=token)[0] == 401
    assert api_token(server, DAVE, "dave other password")[0] == 401
    flask_mail_user(env, "enable", DAVE)
    assert api_token(server, DAVE, "dave other password")[0] == 200


def test_delete_and_re_add_the_same_address_refuses_the_old_token(
    web: tuple[WebServer, Path],
) -> None:
    server, config = web
    env = service_env(config)
    old_token = token_of(server, CAROL)
    old_browser = Browser(server.base, CAROL, password(CAROL))
    claims = json.loads(base64.urlsafe_b64decode(old_token.split(".")[1] + "=="))
    assert len(claims["sub"]) == 32 and claims["jti"]  # a random uid, not a row id
    flask_mail_user(env, "delete", CAROL)
    flask_mail_user(env, "add", CAROL, password(CAROL))
    assert get(server, "/api/folders", token=old_token)[0] == 401
    assert get(server, "/", cookie=old_browser.cookie)[0] == 302
    new_token = token_of(server, CAROL)
    new_claims = json.loads(base64.urlsafe_b64decode(new_token.split(".")[1] + "=="))
    assert new_claims["sub"] != claims["sub"]
    assert get(server, "/api/folders", token=new_token)[0] == 200


def test_revoke_endpoint_sessions_list_and_settings_page(web: tuple[WebServer, Path]) -> None:
    server, _ = web
    first, second = token_of(server, ALICE), token_of(server, ALICE)
    browser = Browser(server.base, ALICE, password(ALICE))
    status, _, data = request(
        server.host,
        server.port,
        "GET",
        "/api/auth/sessions",
        headers={"Authorization": f"Bearer {first}"},
    )
    listed = json.loads(data)["sessions"]
    assert status == 200 and len(listed) >= 3
    assert sum(1 for s in listed if s["current"]) == 1
    page = browser.get("/settings")
    assert "Log out everywhere" in page and "API token" in page

    def revoke(token: str, body: dict[str, object]) -> tuple[int, dict]:
        status, _, data = request(
            server.host,
            server.port,
            "POST",
            "/api/auth/revoke",
            body=json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        return status, json.loads(data)

    assert revoke(second, {}) == (200, {"revoked": 1})
    assert get(server, "/api/folders", token=second)[0] == 401
    assert get(server, "/api/folders", token=first)[0] == 200
    assert revoke(first, {"session_id": "not-a-session"}) == (200, {"revoked": 0})
    # log out everywhere from the settings page: the token and the cookie end
    assert post_form(server, browser, "/settings/logout-everywhere", {}) == 302
    assert get(server, "/api/folders", token=first)[0] == 401
    assert get(server, "/", cookie=browser.cookie)[0] == 302
    status, _, data = request(server.host, server.port, "GET", "/api/openapi.json")
    assert "/api/auth/revoke" in json.loads(data)["paths"]


def test_no_store_on_every_page_and_api_answer(web: tuple[WebServer, Path]) -> None:
    server, _ = web
    browser = Browser(server.base, BOB, "bob new password 2")
    token = token_of(server, BOB, "bob new password 2")
    for path in ("/", "/settings", "/chat", "/search?q=x"):
        status, headers = get(server, path, cookie=browser.cookie)
        assert status == 200 and "no-store" in headers["cache-control"], path
    for path in ("/api/folders", "/api/messages", "/api/auth/sessions"):
        status, headers = get(server, path, token=token)
        assert status == 200 and "no-store" in headers["cache-control"], path
    status, headers = get(server, "/api/folders")
    assert status == 401 and "no-store" in headers["cache-control"]
    status, headers = get(server, "/static/style.css")
    assert status == 200 and "no-store" not in headers.get("cache-control", "")


def _ws_handshake(server: WebServer, browser: Browser) -> socket.socket:
    sock = socket.create_connection((server.host, server.port), timeout=10)
    key = base64.b64encode(os.urandom(16)).decode()
    path = "/ws/chat?csrf_token=" + urllib.parse.quote(browser.csrf)
    sock.sendall(
        (
            f"GET {path} HTTP/1.1\r\nHost: {server.host}:{server.port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Origin: {server.base}\r\nCookie: {browser.cookie}\r\n\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        assert chunk, head
        head += chunk
    assert head.startswith(b"HTTP/1.1 101"), head
    return sock


def test_a_frame_declaring_2_pow_62_bytes_is_closed_at_once(web: tuple[WebServer, Path]) -> None:
    server, _ = web
    browser = Browser(server.base, ALICE, password(ALICE))
    sock = _ws_handshake(server, browser)
    try:
        # FIN + text, masked, 64-bit length 2^62, the masking key, and no payload at all
        sock.sendall(bytes([0x81, 0xFF]) + struct.pack("!Q", 2**62) + os.urandom(4))
        received = b""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(4096)
            except (ConnectionResetError, TimeoutError):
                break
            if not chunk:
                break
            received += chunk
        else:
            pytest.fail("the socket stayed open")
        assert b"\x88\x02\x03\xf1" in received  # close frame, code 1009 (message too big)
    finally:
        sock.close()
    assert get(server, "/login")[0] == 200


def test_slow_request_headers_neither_pin_the_server_nor_stay_open(
    web: tuple[WebServer, Path],
) -> None:
    server, _ = web
    slow = []
    for _ in range(50):
        sock = socket.create_connection((server.host, server.port), timeout=20)
        sock.sendall(b"GET /login HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        slow.append(sock)
    try:
        started = time.monotonic()
        assert get(server, "/login")[0] == 200
        assert time.monotonic() - started < 10  # generous: a pinned server never answers

        def closed(sock: socket.socket) -> bool:
            sock.settimeout(0.05)
            try:
                while sock.recv(4096):
                    pass
            except TimeoutError:
                return False
            except OSError:
                pass
            return True

        def all_closed() -> bool:
            return all(closed(sock) for sock in slow)

        assert wait_until(all_closed, timeout=30, interval=0.5)
    finally:
        for sock in slow:
            sock.close()


def test_a_trickled_request_body_is_cut_off_at_its_deadline(web: tuple[WebServer, Path]) -> None:
    server, _ = web
    sock = socket.create_connection((server.host, server.port), timeout=10)
    try:
        sock.sendall(
            b"POST /login HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n"
        )
        started = time.monotonic()
        answer = b""
        while time.monotonic() - started < 90:
            readable, _, _ = select.select([sock], [], [], 1.0)
            if readable:
                answer = sock.recv(4096)
                break
            try:
                sock.sendall(b"a")  # one byte a second: never idle, never done
            except OSError:
                break
        else:
            pytest.fail("the body was read for 90 s")
        assert answer.startswith(b"HTTP/1.1 408"), answer
    finally:
        sock.close()
    assert get(server, "/login")[0] == 200
