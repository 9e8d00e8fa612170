"""`mailrs up` restarts what dies, gives up only on repeated fast crashes, and reports
each service in `mailrs status`."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from support.config import provision
from support.processes import Proc, mailrs_argv, mailrs_up, service_env, wait_until
from support.selfheal import delivered_ids, send, service_pid, service_restarts, status_json

from mailrs.cli.supervisor import accepts_connections
from mailrs.config import load_settings, parse_hostport


def _status_text(config: Path) -> tuple[int, str]:
    result = subprocess.run(
        mailrs_argv("status", "--config", str(config)),
        env=service_env(config),
        capture_output=True,
        text=True,
        timeout=60,
    )
    return result.returncode, result.stdout


@pytest.mark.slow
def test_killed_worker_and_smtpd_are_restarted_and_mail_keeps_flowing(tmp_path: Path) -> None:
    config = provision(tmp_path, users=("alice@example.test",))
    settings = load_settings(config, environ={})
    smtp = parse_hostport(settings.smtp.listen_addr)
    with mailrs_up(config) as up:
        assert send(smtp, "before@test") == "250"
        assert wait_until(lambda: delivered_ids(settings)["before@test"] == 1, timeout=60)

        worker = service_pid(config, "worker")
        assert worker is not None
        os.kill(worker, signal.SIGKILL)
        assert wait_until(lambda: service_restarts(config, "worker") == 1, timeout=30)
        assert wait_until(lambda: service_pid(config, "worker") not in (None, worker), 60)
        assert send(smtp, "after-worker@test") == "250"
        assert wait_until(lambda: delivered_ids(settings)["after-worker@test"] == 1, timeout=60)

        smtpd = service_pid(config, "smtpd")
        assert smtpd is not None
        os.kill(smtpd, signal.SIGKILL)
        assert wait_until(lambda: service_pid(config, "smtpd") not in (None, smtpd), 60)
        assert accepts_connections(*smtp)
        assert send(smtp, "after-smtpd@test") == "250"
        assert wait_until(lambda: delivered_ids(settings)["after-smtpd@test"] == 1, timeout=60)

        assert up.popen.poll() is None  # the platform carried on by itself
        assert f"worker (pid {worker}) exited with signal 9 (SIGKILL)" in up.output
        assert f"smtpd (pid {smtpd}) exited with signal 9 (SIGKILL)" in up.output
        assert "restarting in" in up.output
        code, text = _status_text(config)
        print(text)
        assert code == 0
        assert text.startswith("mailrs supervisor: running, pid ")
        lines = {line.split()[0]: line.split() for line in text.splitlines()[2:6]}
        assert set(lines) == {"smtpd", "imapd", "web", "worker"}
        for name, cells in lines.items():
            assert cells[1] == "running" and cells[2].isdigit(), text
            assert cells[4] == ("1" if name in ("smtpd", "worker") else "0"), text
        assert "signal 9 (SIGKILL)" in " ".join(lines["worker"]), text
    counts = delivered_ids(settings)
    assert counts == {"before@test": 1, "after-worker@test": 1, "after-smtpd@test": 1}


@pytest.mark.slow
def test_a_killed_web_app_comes_back_in_an_interpreter_of_its_own(tmp_path: Path) -> None:
    """Once the fork server holds Celery and kombu (its second stage, for smtpd and the
    worker) the web app, which gevent patches, is never forked from it: a restarted web
    app is exec'd, and serves."""
    config = provision(tmp_path, users=("alice@example.test",))
    settings = load_settings(config, environ={})
    api = parse_hostport(settings.api.listen_addr)
    with mailrs_up(config) as up:
        web = service_pid(config, "web")
        assert web is not None
        os.kill(web, signal.SIGKILL)
        assert wait_until(lambda: service_pid(config, "web") not in (None, web), 60)
        restarted = service_pid(config, "web")
        assert restarted is not None
        with urllib.request.urlopen(f"http://{api[0]}:{api[1]}/health", timeout=30) as reply:
            assert reply.status == 200
        command = Path(f"/proc/{restarted}/cmdline").read_bytes().replace(b"\0", b" ")
        # exec'd (a forked one is titled "gunicorn --config ..."), in one process
        assert b"-m mailrs.cli.gunicorn_single " in command
        assert up.popen.poll() is None


@pytest.mark.slow
def test_status_when_stopped_and_when_the_supervisor_is_gone(tmp_path: Path) -> None:
    config = provision(tmp_path)
    code, text = _status_text(config)
    assert code == 3 and text.startswith("mailrs is not running")
    with mailrs_up(config) as up:
        data = status_json(config)
        assert data["supervisor_alive"] is True and data["pid"] == up.popen.pid
        assert all(svc["alive"] for svc in data["services"])
        up.popen.send_signal(signal.SIGTERM)
        assert up.popen.wait(timeout=60) == 0
    code, text = _status_text(config)
    assert code == 3
    assert text.startswith("mailrs supervisor: not running (stopped)")
    assert all(" stopped " in line for line in text.splitlines()[2:6]), text

    # A supervisor killed without a word: status says so instead of trusting the file.
    with mailrs_up(config) as up:
        children = [svc["pid"] for svc in status_json(config)["services"]]
        up.popen.kill()
        up.popen.wait(timeout=10)
        code, text = _status_text(config)
        assert code == 3
        assert f"pid {up.popen.pid} is gone without stopping" in text
        # Its children get SIGTERM from the kernel when it dies (PR_SET_PDEATHSIG).
        assert wait_until(
            lambda: not any(os.path.exists(f"/proc/{pid}") for pid in children), timeout=30
        )


@pytest.mark.slow
def test_repeated_fast_crashes_give_up_and_stop_everything(tmp_path: Path) -> None:
    config = provision(tmp_path)
    settings = load_settings(config, environ={})
    host, port = parse_hostport(settings.smtp.listen_addr)
    imap = parse_hostport(settings.imap.listen_addr)
    squatter = socket.socket()
    try:
        with mailrs_up(config) as up:
            smtpd = service_pid(config, "smtpd")
            assert smtpd is not None
            os.kill(smtpd, signal.SIGKILL)
            # Another program takes the port at once: every restart fails the same way.
            deadline = time.monotonic() + 10
            while True:
                try:
                    squatter.bind((host, port))
                    break
                except OSError:
                    assert time.monotonic() < deadline, "the port never came free"
                    time.sleep(0.01)
            squatter.listen()
            assert up.popen.wait(timeout=120) == 1
        out = up.output
        assert "exited with code 1" in out
        assert "crashed 5 times within a minute: giving up and stopping the others" in out
        assert not accepts_connections(*imap)
        code, text = _status_text(config)
        assert code == 3 and "not running (failed)" in text
        assert "failed" in next(line for line in text.splitlines() if line.startswith("smtpd"))
    finally:
        squatter.close()
    log = (settings.data_dir / "logs" / "smtpd.log").read_text()
    assert f"smtpd: cannot listen on {host}:{port}" in log


def test_status_of_a_config_never_started(tmp_path: Path) -> None:
    config = tmp_path / "mailrs.toml"
    config.write_text('[storage]\ndata_dir = "data"\n')
    proc = Proc(mailrs_argv("status", "--config", str(config)), env=service_env(config))
    assert proc.popen.wait(timeout=60) == 3
    proc.stop()
    assert proc.output.startswith("mailrs is not running (no state in ")
