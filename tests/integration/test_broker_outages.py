"""Broker outages are weather: a removed embedded broker folder, Redis absent at start-up."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from support.config import free_port, provision
from support.processes import mailrs_up, running, wait_until
from support.selfheal import delivered_ids, send, service_restarts, status_json
from support.services import require_tool

from mailrs.config import load_settings, parse_hostport


def remove_folder(folder: Path) -> None:
    """``rmtree`` that wins against the worker: its poll makes ``queue/`` again (by
    design) while rmtree is between the children and the folder itself (ENOTEMPTY)."""
    for _ in range(50):
        try:
            shutil.rmtree(folder)
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.01)
    shutil.rmtree(folder)


@pytest.mark.slow
def test_removed_embedded_broker_folder_is_survived(tmp_path: Path) -> None:
    config = provision(tmp_path, users=("alice@example.test",))
    settings = load_settings(config, environ={})
    smtp = parse_hostport(settings.smtp.listen_addr)
    with mailrs_up(config) as up:
        assert send(smtp, "first@broker.test") == "250"
        assert wait_until(lambda: delivered_ids(settings)["first@broker.test"] == 1, timeout=60)

        remove_folder(settings.broker_dir)
        time.sleep(2)  # the worker polls the missing folder meanwhile
        assert send(smtp, "removed@broker.test") == "250"
        assert wait_until(lambda: delivered_ids(settings)["removed@broker.test"] == 1, 60)

        remove_folder(settings.broker_dir)  # removed and made again, empty
        settings.broker_dir.mkdir(exist_ok=True)  # unless the worker was first
        time.sleep(1)
        assert send(smtp, "recreated@broker.test") == "250"
        assert wait_until(lambda: delivered_ids(settings)["recreated@broker.test"] == 1, 60)

        assert service_restarts(config, "worker") == 0, up.output
        assert up.popen.poll() is None
    log = (settings.data_dir / "logs" / "worker.log").read_text()
    assert "FileNotFoundError" not in log
    assert delivered_ids(settings) == {
        "first@broker.test": 1,
        "removed@broker.test": 1,
        "recreated@broker.test": 1,
    }


@pytest.mark.slow
@pytest.mark.redis
def test_redis_down_at_startup_runs_degraded_then_delivers(tmp_path: Path) -> None:
    redis_server = require_tool("redis-server")
    port = free_port()
    config = provision(
        tmp_path, broker_url=f"redis://127.0.0.1:{port}/0", users=("alice@example.test",)
    )
    settings = load_settings(config, environ={})
    smtp = parse_hostport(settings.smtp.listen_addr)
    with mailrs_up(config) as up:
        assert "Celery worker" in up.output and "waiting for the broker" in up.output
        assert "running degraded" in up.output
        worker = next(s for s in status_json(config)["services"] if s["name"] == "worker")
        assert worker["state"] == "waiting" and worker["alive"]
        assert send(smtp, "early@redis.test") == "250"
        time.sleep(65)  # longer than start-up used to wait for the worker
        assert up.popen.poll() is None, up.output
        assert send(smtp, "late@redis.test") == "250"
        assert delivered_ids(settings) == {}

        argv = [redis_server, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
        argv += ["--appendonly", "no", "--daemonize", "no"]
        with running(argv, "Ready to accept connections", cwd=tmp_path):
            assert wait_until(
                lambda: delivered_ids(settings) == {"early@redis.test": 1, "late@redis.test": 1},
                timeout=120,
                interval=0.5,
            ), up.output
            assert wait_until(lambda: "ready (the broker is reachable)" in up.output, 30)
            assert service_restarts(config, "worker") == 0
            assert send(smtp, "after@redis.test") == "250"
            assert wait_until(lambda: delivered_ids(settings)["after@redis.test"] == 1, 60)
