"""The web app under real gunicorn (the gevent worker of mailrs.cli.gunicorn_conf) and
plain HTTP helpers (http.client: no redirects followed, headers visible)."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mailrs.config import load_settings, parse_hostport
from support.processes import REPO, VENV_BIN, Proc, running, service_env, wait_until


@dataclass
class WebServer:
    """A running gunicorn: its base URL, host and port, and the process."""

    base: str
    host: str
    port: int
    proc: Proc


@contextmanager
def gunicorn_web(config: Path, workers: int = 1, **env_extra: str) -> Iterator[WebServer]:
    """gunicorn with the shared settings on the config's [api] listen_addr until the block ends."""
    address = load_settings(config, environ={}).api.listen_addr
    host, port = parse_hostport(address)
    argv = [
        str(VENV_BIN / "gunicorn"),
        "--config",
        "python:mailrs.cli.gunicorn_conf",
        "--bind",
        address,
        "--workers",
        str(workers),
        "web:create_app()",
    ]
    env = service_env(config, **env_extra)
    with running(argv, ready="Booting worker", env=env, cwd=REPO) as proc:
        base = f"http://{address}"
        assert wait_until(lambda: request(host, port, "GET", "/login")[0] == 200, 120), proc.output
        yield WebServer(base, host, port, proc)


def request(
    host: str,
    port: int,
    method: str,
    path: str,
    *,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    source: str = "127.0.0.1",
    timeout: float = 30.0,
) -> tuple[int, dict[str, str], bytes]:
    """One HTTP request from ``source``: (status, headers with lower-case names, body).

    A status of 0 means nothing answered.
    """
    conn = http.client.HTTPConnection(host, port, timeout=timeout, source_address=(source, 0))
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        data = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, data
    except OSError:
        return 0, {}, b""
    finally:
        conn.close()


def api_token(
    server: WebServer, address: str, password: str, source: str = "127.0.0.1"
) -> tuple[int, dict[str, Any]]:
    """POST /api/auth/token; (status, JSON body)."""
    status, _, data = request(
        server.host,
        server.port,
        "POST",
        "/api/auth/token",
        body=json.dumps({"email": address, "password": password}).encode(),
        headers={"Content-Type": "application/json"},
        source=source,
    )
    return status, json.loads(data) if data else {}
