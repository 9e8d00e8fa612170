"""The login, logout and inbox pages through Flask's test client, with CSRF enforced."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from support.web import ALICE, PASSWORDS

from mailrs.db.engine import Database
from mailrs.store.maildir import MaildirStore

ADDRESS = ALICE
PASSWORD = PASSWORDS[ALICE]
CSRF_RE = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|'
    r'name="csrf_token" value="([^"]+)"'
)


def csrf_token(client: FlaskClient, path: str) -> str:
    """The CSRF token of the form on the page at ``path``."""
    html = client.get(path).get_data(as_text=True)
    match = CSRF_RE.search(html)
    assert match, f"no CSRF token on {path}"
    return match.group(1) or match.group(2)


def log_in(
    client: FlaskClient, address: str = ADDRESS, password: str = PASSWORD, path: str = "/login"
):
    """Post the login form with a valid CSRF token; returns the response."""
    token = csrf_token(client, "/login")
    data = {"csrf_token": token, "email": address, "password": password}
    return client.post(path, data=data)


@pytest.fixture
def logged_in(client: FlaskClient) -> FlaskClient:
    """A client with a logged-in session."""
    response = log_in(client)
    assert response.status_code == 302
    return client


def message(subject: str, sender: str = "Bob <bob@example.test>", day: int = 1) -> bytes:
    """A small raw message."""
    return (
        f"From: {sender}\r\nTo: {ADDRESS}\r\nSubject: {subject}\r\n"
        f"Date: Mon, {day:02d} Dec 2025 10:{day:02d}:00 +0000\r\n"
        f"Message-ID: <{day}@example.test>\r\n\r\nHello.\r\n"
    ).encode()


# -- login -----------------------------------------------------------------------------


def test_login_page_shows_the_form(client: FlaskClient) -> None:
    response = client.get("/login")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'name="email"' in html
    assert 'type="password"' in html
    assert CSRF_RE.search(html)


def test_inbox_redirects_to_login_when_logged_out(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_login_success_sets_a_hardened_session_cookie(client: FlaskClient) -> None:
    response = log_in(client)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    page = client.get("/")
    assert page.status_code == 200
    assert ADDRESS in page.get_data(as_text=True)


def test_login_address_is_case_insensitive(client: FlaskClient) -> None:
    assert log_in(client, address="Alice@Example.TEST").status_code == 302


@pytest.mark.parametrize(
    ("address", "password"),
    [(ADDRESS, "wrong password"), ("nobody@example.test", PASSWORD), ("not an address", PASSWORD)],
)
def test_login_failure_is_401_with_a_clear_error(
    client: FlaskClient, address: str, password: str
) -> None:
    response = log_in(client, address, password)
    assert response.status_code == 401
    html = response.get_data(as_text=True)
    assert "Wrong email address or password." in html
    assert 'role="alert"' in html
    assert client.get("/").status_code == 302  # still logged out


def test_login_with_empty_fields_is_refused(client: FlaskClient) -> None:
    response = log_in(client, "", "")
    assert response.status_code == 400
    assert client.get("/").status_code == 302


def test_login_without_csrf_token_is_400(client: FlaskClient) -> None:
    response = client.post("/login", data={"email": ADDRESS, "password": PASSWORD})
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_login_follows_a_local_next_url(client: FlaskClient) -> None:
    response = log_in(client, path="/login?next=/health")
    assert response.headers["Location"] == "/health"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil.example"])
def test_login_ignores_a_foreign_next_url(client: FlaskClient, target: str) -> None:
    response = log_in(client, path=f"/login?next={target}")
    assert response.headers["Location"] == "/"


def test_login_page_redirects_when_already_logged_in(logged_in: FlaskClient) -> None:
    assert logged_in.get("/login").status_code == 302


def test_deleted_account_loses_its_session(
    logged_in: FlaskClient, database: Database, store: MaildirStore
) -> None:
    from mailrs.accounts.users import delete_user

    with database.session() as session:
        delete_user(session, store, ADDRESS)
    assert logged_in.get("/").status_code == 302


# -- logout ----------------------------------------------------------------------------


def test_logout_ends_the_session(logged_in: FlaskClient) -> None:
    token = csrf_token(logged_in, "/")
    response = logged_in.post("/logout", data={"csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert logged_in.get("/").status_code == 302


def test_logout_needs_post_and_csrf(logged_in: FlaskClient) -> None:
    assert logged_in.get("/logout").status_code == 405
    assert logged_in.post("/logout").status_code == 400
    assert logged_in.get("/").status_code == 200  # still logged in


# -- inbox -----------------------------------------------------------------------------


def test_empty_inbox_says_so(logged_in: FlaskClient) -> None:
    response = logged_in.get("/")
    assert response.status_code == 200
    assert "No messages yet" in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "private, no-store"


def test_inbox_shows_the_20_newest_of_25_newest_first(
    app: Flask, logged_in: FlaskClient, store: MaildirStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(25):
        store.deliver(ADDRESS, message(f"Message {n:02d}", day=n + 1), mtime=1_700_000_000 + n)
    app_store = app.extensions["mailrs"].store
    reads: list[str] = []
    real_read_head: Callable[..., bytes] = app_store.read_head

    def counting_read_head(address: str, mailbox: str, key: str, **kwargs: object) -> bytes:
        reads.append(key)
        return real_read_head(address, mailbox, key, **kwargs)

    def whole_read(*args: object, **kwargs: object) -> bytes:
        raise AssertionError("the inbox must not read whole messages")

    monkeypatch.setattr(app_store, "read_head", counting_read_head)
    monkeypatch.setattr(app_store, "read", whole_read)

    html = logged_in.get("/?view=list").get_data(as_text=True)
    shown = re.findall(r"Message (\d\d)", html)
    assert shown == [f"{n:02d}" for n in range(24, 4, -1)]
    assert len(reads) == 20
    assert "20 newest of 25" in html
    assert "Bob" in html
    assert 'title="bob@example.test"' in html
    assert 'datetime="2025-12-25T10:25:00+00:00"' in html
    assert "25 Dec 2025, 10:25" in html


def test_inbox_reads_only_the_head_of_a_big_message(
    app: Flask, logged_in: FlaskClient, store: MaildirStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    big = message("Big attachment") + b"x" * (1024 * 1024)
    store.deliver(ADDRESS, big, mtime=1_700_000_000)
    app_store = app.extensions["mailrs"].store
    heads: list[bytes] = []
    real_read_head: Callable[..., bytes] = app_store.read_head

    def recording_read_head(*args: object, **kwargs: object) -> bytes:
        heads.append(real_read_head(*args, **kwargs))
        return heads[-1]

    monkeypatch.setattr(app_store, "read_head", recording_read_head)
    response = logged_in.get("/?view=list")
    assert response.status_code == 200
    assert "Big attachment" in response.get_data(as_text=True)
    assert [len(head) for head in heads] == [64 * 1024]
    assert big.startswith(heads[0])


def test_unread_messages_are_marked(logged_in: FlaskClient, store: MaildirStore) -> None:
    read = store.deliver(ADDRESS, message("Already read", day=1), mtime=1_700_000_000)
    store.set_flags(ADDRESS, "INBOX", read.key, "S")
    store.deliver(ADDRESS, message("Brand new", day=2), mtime=1_700_000_100)
    html = logged_in.get("/").get_data(as_text=True)
    items = re.findall(r'<li class="([^"]*)"[^>]*>(.*?)</li>', html, re.S)
    assert [(classes, "Brand new" in body) for classes, body in items] == [
        ("message unread", True),
        ("message", False),
    ]


def test_inbox_copes_with_missing_headers_and_maildir(
    logged_in: FlaskClient, store: MaildirStore
) -> None:
    store.deliver(ADDRESS, b"\r\nNo headers at all.\r\n", mtime=1_700_000_000)
    html = logged_in.get("/").get_data(as_text=True)
    assert "(no subject)" in html
    assert "(unknown sender)" in html
    store.remove_user(ADDRESS)
    response = logged_in.get("/")
    assert response.status_code == 200
    assert "No messages yet" in response.get_data(as_text=True)


def test_subject_and_sender_are_escaped(logged_in: FlaskClient, store: MaildirStore) -> None:
    store.deliver(
        ADDRESS,
        message(
            "<script>alert('subject')</script>",
            sender='"<img src=x onerror=alert(1)>" <evil"@example.test>',
        ),
    )
    html = logged_in.get("/").get_data(as_text=True)
    assert "<script>alert" not in html
    assert "<img" not in html
    assert "&lt;script&gt;alert(&#39;subject&#39;)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_encoded_subject_is_decoded(logged_in: FlaskClient, store: MaildirStore) -> None:
    store.deliver(ADDRESS, message("=?utf-8?q?Caf=C3=A9_cr=C3=A8me?="))
    assert "Café crème" in logged_in.get("/").get_data(as_text=True)
