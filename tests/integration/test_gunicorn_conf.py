"""gunicorn.conf.py: a bare ``gunicorn 'web:create_app()'`` listens on ``[api] listen_addr``."""

from __future__ import annotations

import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from support.config import free_port, write_config
from support.processes import REPO, VENV_BIN, running, service_env, wait_until

from mailrs.config import load_settings

GUNICORN = str(VENV_BIN / "gunicorn")
APP = "web:create_app()"
CONF = REPO / "gunicorn.conf.py"


def gunicorn_env(config: Path, tmp_path: Path) -> dict[str, str]:
    """The child's environment; its control socket goes to the test's directory."""
    return service_env(config, XDG_RUNTIME_DIR=str(tmp_path))


def health_status(url: str) -> int | None:
    """The HTTP status of GET ``url``, or None while nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


def answers(url: str) -> bool:
    return health_status(url) in (200, 503)  # 503: up, but the broker is not running


def test_bare_gunicorn_listens_on_the_configured_address(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    address = load_settings(config, environ={}).api.listen_addr
    with running(
        [GUNICORN, APP], ready="Booting worker", env=gunicorn_env(config, tmp_path), cwd=REPO
    ) as proc:
        assert f"Listening at: http://{address} " in proc.output
        assert "Using worker: gevent" in proc.output
        assert wait_until(lambda: answers(f"http://{address}/health"), timeout=30), proc.output


def test_command_line_bind_wins_over_the_config_file(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    configured = load_settings(config, environ={}).api.listen_addr
    address = f"127.0.0.1:{free_port()}"
    argv = [GUNICORN, "--bind", address, APP]
    with running(
        argv, ready="Booting worker", env=gunicorn_env(config, tmp_path), cwd=REPO
    ) as proc:
        assert f"Listening at: http://{address} " in proc.output
        assert wait_until(lambda: answers(f"http://{address}/health"), timeout=30), proc.output
        assert health_status(f"http://{configured}/health") is None


@pytest.mark.parametrize("content", ["[api\n", '[api]\nlisten_addr = "nowhere"\n', None])
def test_bad_config_exits_with_one_line(tmp_path: Path, content: str | None) -> None:
    config = tmp_path / "broken.toml"
    if content is not None:
        config.write_text(content)
    result = subprocess.run(
        [GUNICORN, APP],
        env=gunicorn_env(config, tmp_path),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("gunicorn: "), result.stderr
    assert str(config) in lines[0] or "listen_addr" in lines[0]
    assert "Traceback" not in result.stderr + result.stdout
