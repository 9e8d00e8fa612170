"""The REST API's authentication through Flask's test client: JWT issue and abuse,
throttling of logins (per account and per network) and the login audit."""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path

import jwt
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from support.web import ALICE, BOB, api_token, append_config, build_app, log_in, page_csrf

SECRET = "test-only-jwt-secret-not-real-0123"

pytestmark = pytest.mark.web_app(
    config="[auth]\nbase_delay_secs = 0.0\nmax_failures_per_account = 3"
)


@pytest.fixture
def alice_api(client: FlaskClient) -> dict[str, str]:
    """Alice's API headers."""
    return api_token(client, ALICE)


# -- tokens and authentication -----------------------------------------------------------


def test_token_is_hs256_with_the_configured_expiry(client: FlaskClient) -> None:
    response = client.post("/api/auth/token", json={"email": ALICE, "password": "alice password 1"})
    assert response.status_code == 200
    body = response.get_json()
    assert body["token_type"] == "Bearer"
    claims = jwt.decode(body["token"], SECRET, algorithms=["HS256"], audience="mailrs-api")
    assert claims["email"] == ALICE
    assert 24 * 3600 - 60 <= claims["exp"] - claims["iat"] <= 24 * 3600
    assert jwt.get_unverified_header(body["token"])["alg"] == "HS256"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"email": ALICE, "password": "wrong"}, 401),
        ({"email": "nobody@example.test", "password": "x"}, 401),
        ({"email": ALICE}, 400),
        ({"password": "x"}, 400),
        ({"email": 5, "password": []}, 400),
    ],
)
def test_token_refuses_bad_credentials_with_json(
    client: FlaskClient, body: dict[str, object], status: int
) -> None:
    response = client.post("/api/auth/token", json=body)
    assert response.status_code == status
    assert response.is_json and response.get_json()["error"]


def test_token_login_is_throttled_with_a_clear_message(client: FlaskClient) -> None:
    for _ in range(3):
        bad = client.post("/api/auth/token", json={"email": ALICE, "password": "wrong"})
        assert bad.status_code == 401
    blocked = client.post("/api/auth/token", json={"email": ALICE, "password": "alice password 1"})
    assert blocked.status_code == 429
    assert "Too many failed logins" in blocked.get_json()["error"]
    assert int(blocked.headers["Retry-After"]) > 0
    # Bob (same IP, other account) is not blocked
    assert (
        client.post(
            "/api/auth/token", json={"email": BOB, "password": "bob password 22"}
        ).status_code
        == 200
    )


def test_web_login_form_is_throttled_too(client: FlaskClient) -> None:
    for _ in range(3):
        token = page_csrf(client)
        r = client.post("/login", data={"csrf_token": token, "email": ALICE, "password": "no"})
        assert r.status_code == 401
    token = page_csrf(client)
    r = client.post(
        "/login", data={"csrf_token": token, "email": ALICE, "password": "alice password 1"}
    )
    assert r.status_code == 429
    assert "Too many failed logins" in r.get_data(as_text=True)
    assert client.get("/").status_code == 302


def _forge(claims: dict[str, object], key: str = SECRET, alg: str = "HS256") -> str:
    return jwt.encode(claims, key, algorithm=alg)


def _claims(**extra: object) -> dict[str, object]:
    now = dt.datetime.now(dt.UTC)
    base: dict[str, object] = {
        "sub": "1",
        "email": ALICE,
        "iat": now,
        "exp": now + dt.timedelta(hours=1),
        "aud": "mailrs-api",
    }
    base.update(extra)
    return base


def _alg_none(claims: dict[str, object]) -> str:
    def part(data: dict[str, object]) -> str:
        raw = json.dumps(data, default=lambda v: int(v.timestamp())).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(
            _forge(_claims(exp=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5))), id="expired"
        ),
        pytest.param(_forge(_claims(), key="another-secret-of-some-length"), id="wrong-key"),
        pytest.param(_alg_none(_claims()), id="alg-none"),
        pytest.param(_forge(_claims(), alg="HS512"), id="other-alg"),
        pytest.param(_forge({k: v for k, v in _claims().items() if k != "exp"}), id="no-exp"),
        pytest.param(_forge(_claims(aud="someone-else")), id="wrong-audience"),
        pytest.param("not.a.jwt", id="garbage"),
    ],
)
def test_bad_tokens_are_401(client: FlaskClient, token: str) -> None:
    response = client.get("/api/folders", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.is_json
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_tampered_payload_is_401(client: FlaskClient, alice_api: dict[str, str]) -> None:
    header, payload, signature = alice_api["Authorization"].split()[1].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = "2"  # try to become Bob with Alice's signature
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    response = client.get(
        "/api/folders", headers={"Authorization": f"Bearer {header}.{forged}.{signature}"}
    )
    assert response.status_code == 401


@pytest.mark.parametrize("header", ["Basic YWxpY2U6eA==", "Bearer", "Bearer  ", "token abc"])
def test_malformed_authorization_is_401(client: FlaskClient, header: str) -> None:
    assert client.get("/api/folders", headers={"Authorization": header}).status_code == 401


def test_no_credentials_is_a_json_401(client: FlaskClient) -> None:
    response = client.get("/api/messages")
    assert response.status_code == 401
    assert response.get_json()["status"] == 401


def test_token_of_a_disabled_account_is_refused(app: Flask, client: FlaskClient) -> None:
    headers = api_token(client, ALICE)
    from mailrs.db.models import User

    with app.extensions["mailrs"].database.session() as session:
        user = session.scalar(select(User).where(User.address == ALICE))
        assert user is not None
        user.disabled = True
        session.commit()
    assert client.get("/api/folders", headers=headers).status_code == 401


def test_login_attempts_are_audited(app: Flask, client: FlaskClient) -> None:
    from mailrs.db.models import LoginEvent

    client.post("/api/auth/token", json={"email": ALICE, "password": "wrong"})
    api_token(client, ALICE)
    log_in(app.test_client(), BOB)
    with app.extensions["mailrs"].database.session() as session:
        rows = session.scalars(select(LoginEvent).order_by(LoginEvent.id)).all()
        assert [(r.address, r.via, r.outcome, r.client_addr) for r in rows] == [
            (ALICE, "api", "failed", "127.0.0.1"),
            (ALICE, "api", "ok", "127.0.0.1"),
            (BOB, "web", "ok", "127.0.0.1"),
        ]


def test_many_failures_from_one_ip_block_every_account_from_it(tmp_path: Path) -> None:
    from support.config import unused_port, write_config

    config = append_config(
        write_config(tmp_path, port=unused_port),
        "[auth]\nbase_delay_secs = 0.0\nmax_failures_per_ip = 2\nmax_failures_per_account = 50",
    )
    app = build_app(config)
    try:
        client = app.test_client()
        for address in ("x@example.test", "y@example.test"):
            assert (
                client.post(
                    "/api/auth/token", json={"email": address, "password": "guess"}
                ).status_code
                == 401
            )
        blocked = client.post("/api/auth/token", json={"email": BOB, "password": "bob password 22"})
        assert blocked.status_code == 429 and "network" in blocked.get_json()["error"]
        other_ip = client.post(
            "/api/auth/token",
            json={"email": BOB, "password": "bob password 22"},
            environ_base={"REMOTE_ADDR": "192.0.2.7"},
        )
        assert other_ip.status_code == 200
    finally:
        app.extensions["mailrs"].database.dispose()
