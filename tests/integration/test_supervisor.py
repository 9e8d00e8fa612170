"""`mailrs up` as a supervisor: refuses taken ports, stops cleanly (restarts: test_supervision)."""

from __future__ import annotations

import os
import signal
import socket
import sys
from pathlib import Path

import pytest
from support.config import write_config
from support.processes import (
    Proc,
    mailrs_argv,
    mailrs_up,
    running,
    service_env,
    wait_until,
)

from mailrs.cli.supervisor import accepts_connections
from mailrs.config import load_settings, parse_hostport

pytestmark = pytest.mark.slow  # starts several real processes


def child_pids(marker: str) -> list[int]:
    """PIDs of processes whose command line contains ``marker``."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                cmdline = fh.read().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue
        if marker in cmdline:
            pids.append(int(entry))
    return pids


def test_taken_port_stops_startup_with_the_reason(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    settings = load_settings(config, environ={})
    host, port = parse_hostport(settings.imap.listen_addr)
    with socket.socket() as squatter:
        squatter.bind((host, port))
        squatter.listen()
        proc = Proc(
            mailrs_argv("up", "--config", str(config)), env=service_env(config), cwd=tmp_path
        )
        assert proc.popen.wait(timeout=60) == 1
        proc.stop()
    assert f"IMAP server: cannot listen on {host}:{port}: Address already in use" in proc.output
    assert not accepts_connections(*parse_hostport(settings.smtp.listen_addr))
    assert child_pids(str(config)) == []


def test_bad_config_is_one_line_and_exit_1(tmp_path: Path) -> None:
    config = tmp_path / "mailrs.toml"
    config.write_text('[smtp]\nmax_message_size = "huge"\n')
    proc = Proc(mailrs_argv("up", "--config", str(config)), env=service_env(config), cwd=tmp_path)
    assert proc.popen.wait(timeout=60) == 1
    proc.stop()
    assert proc.output.strip() == (
        f"Error: {config}: smtp.max_message_size: expected an integer, got 'huge'"
    )


@pytest.mark.slow
def test_sigterm_stops_every_service(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    with mailrs_up(config) as up:
        assert len(child_pids(str(config))) >= 4  # mailrs up itself and its children
        up.popen.send_signal(signal.SIGTERM)
        assert up.popen.wait(timeout=60) == 0
    assert "mailrs: stopping" in up.output
    assert wait_until(lambda: child_pids(str(config)) == [], timeout=30)


def test_production_with_the_default_secret_refuses_to_start(tmp_path: Path) -> None:
    config = tmp_path / "mailrs.toml"
    config.write_text('mode = "production"\n')
    proc = Proc(mailrs_argv("up", "--config", str(config)), env=service_env(config), cwd=tmp_path)
    assert proc.popen.wait(timeout=60) == 1
    proc.stop()
    assert proc.output.startswith(f"Error: {config}: api.jwt_secret: set a secret")
    assert len(proc.output.strip().splitlines()) == 1


def test_sigterm_during_startup_stops_cleanly(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    proc = Proc(mailrs_argv("up", "--config", str(config)), env=service_env(config), cwd=tmp_path)
    try:
        assert wait_until(lambda: len(child_pids(str(config))) >= 3, timeout=60)
        proc.popen.send_signal(signal.SIGTERM)
        assert proc.popen.wait(timeout=60) == 0
    finally:
        proc.stop()
    assert "mailrs: stopping" in proc.output and "mailrs is up" not in proc.output
    assert wait_until(lambda: child_pids(str(config)) == [], timeout=30)


HEAVY = ("sqlalchemy", "kombu", "celery", "aiosmtpd", "flask", "argon2", "email", "gevent")
# Each service's own libraries: the fork server's preload never holds them.
SERVICE_OWN = ("aiosmtpd", "flask", "gevent", "gunicorn")


def supervisor_imports(tmp_path: Path, fork_server: str) -> set[str]:
    """The modules ``mailrs up``'s own process imported (``-X importtime``; the services'
    imports go to their logs)."""
    config = write_config(tmp_path)
    argv = [sys.executable, "-X", "importtime", "-m", "mailrs", "up", "--config", str(config)]
    env = {**service_env(config), "MAILRS_FORK_SERVER": fork_server}
    with running(argv, "mailrs is up", env=env, cwd=tmp_path, timeout=120) as up:
        up.popen.send_signal(signal.SIGTERM)
        assert up.popen.wait(timeout=60) == 0
    imported = {
        line.rsplit("|", 1)[1].strip()
        for line in up.output.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    assert "mailrs.cli.supervisor" in imported  # the log is there
    return imported


@pytest.mark.slow
def test_without_the_fork_server_the_supervisor_imports_no_application_library(
    tmp_path: Path,
) -> None:
    """With ``MAILRS_FORK_SERVER=0`` ``mailrs up`` only starts and watches processes: its
    import log names none of the libraries the services load, so it stays a few MiB."""
    imported = supervisor_imports(tmp_path, "0")
    heavy = sorted(m for m in imported if m.split(".")[0] in HEAVY)
    assert heavy == [], heavy


@pytest.mark.slow
def test_the_fork_server_preloads_only_what_the_services_share(tmp_path: Path) -> None:
    """By default the supervisor is the services' fork server (``mailrs.cli.zygote``): it
    holds the common libraries (SQLAlchemy, email, argon2, ...), then, once the web app
    and imapd are forked, Celery and kombu for smtpd and the worker; none that only one
    service uses."""
    imported = supervisor_imports(tmp_path, "1")
    assert {"sqlalchemy", "mailrs.db.models", "mailrs.cli.zygote"} <= imported
    assert {"celery", "kombu", "mailrs.celery"} <= imported
    own = sorted(m for m in imported if m.split(".")[0] in SERVICE_OWN)
    assert own == [], own
