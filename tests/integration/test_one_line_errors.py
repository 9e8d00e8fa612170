"""Every command an admin runs fails with one line naming the config, never a traceback;
nothing falls back to Celery's defaults or creates ./data; JSON log lines on request."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from support.config import free_port, write_config
from support.processes import REPO, VENV_BIN, mailrs_argv, running, service_env

from mailrs.tls import write_selfsigned

BAD = "[smtp]\nmax_message_size = -1\n"


def bare_env(**extra: str) -> dict[str, str]:
    """An environment with this venv on PATH and no MAILRS_* variables."""
    env = {
        "PATH": f"{VENV_BIN}:/usr/bin:/bin",
        "HOME": os.environ.get("HOME", "/root"),
        "LANG": "C.UTF-8",
    }
    env.update(extra)
    return env


def run(argv: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run a console script to its end (a worker that started anyway is stopped by timeout)."""
    return subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=90, stdin=subprocess.DEVNULL
    )


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    """The single line on stderr of a failed command (and nothing on stdout)."""
    assert result.returncode != 0, result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    return lines[0]


def test_flask_mail_user_with_a_bad_config_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(BAD)
    argv = [str(VENV_BIN / "flask"), "mail-user", "--config", str(bad), "list"]
    repo = REPO
    line = one_line(run(argv, repo, bare_env()))
    assert line == f"Error: {bad.resolve()}: smtp.max_message_size: must be greater than 0, got -1"
    by_env = run(argv[:2] + ["list"], repo, bare_env(MAILRS_CONFIG=str(bad)))
    assert "smtp.max_message_size" in one_line(by_env)
    missing = run(argv[:2] + ["--config", str(tmp_path / "nope.toml"), "list"], repo, bare_env())
    assert one_line(missing) == f"Error: config file {tmp_path / 'nope.toml'} does not exist"
    if not (repo / "mailrs.toml").exists():  # a developer's checkout may have one
        none = run(argv[:2] + ["list"], repo, bare_env())
        assert one_line(none).startswith(f"Error: no config file: looked for {repo}/mailrs.toml")
        assert not (repo / "mailrs.toml").exists() and not (repo / "data").exists()


def test_celery_worker_with_a_bad_or_missing_config_stops_with_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(BAD)
    argv = [str(VENV_BIN / "celery"), "-A", "mailrs", "worker", "--pool", "solo"]
    result = run(argv, tmp_path, bare_env(MAILRS_CONFIG="bad.toml"))
    assert result.returncode == 2
    line = one_line(result)
    assert line == "celery: bad.toml: smtp.max_message_size: must be greater than 0, got -1"
    assert "amqp" not in result.stdout + result.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    missing = run(argv, empty, bare_env())
    assert one_line(missing) == (
        f"celery: no config file: looked for {empty / 'mailrs.toml'} (set MAILRS_CONFIG)"
    )
    assert list(empty.iterdir()) == []


@pytest.mark.parametrize(
    "args",
    [("queue", "list"), ("alias", "list"), ("worker",), ("db", "upgrade"), ("domain", "list")],
)
def test_without_a_config_commands_say_where_they_looked_and_create_nothing(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    result = run(mailrs_argv(*args), tmp_path, bare_env())
    assert result.returncode == 1
    assert one_line(result) == (
        f"Error: no config file: looked for {tmp_path / 'mailrs.toml'} "
        "(give --config PATH or set MAILRS_CONFIG)"
    )
    assert list(tmp_path.iterdir()) == []  # no ./data, no database


def test_a_database_that_cannot_be_reached_is_one_line_naming_the_config(tmp_path: Path) -> None:
    config = write_config(
        tmp_path, db_url=f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/x"
    )
    for args in (("queue", "list"), ("alias", "list"), ("db", "upgrade")):
        line = one_line(run(mailrs_argv(*args, "--config", str(config)), tmp_path, bare_env()))
        assert line.startswith("Error: database: ") and f"(database of {config})" in line, line


def test_config_check_loads_the_tls_files_of_a_production_config(tmp_path: Path) -> None:
    config = tmp_path / "prod.toml"
    config.write_text(
        'mode = "production"\n[api]\njwt_secret = "a-production-secret-of-32-chars-or-more"\n'
        '[smtp]\nenable_tls = true\ntls_cert_path = "tls/cert.pem"\ntls_key_path = "tls/key.pem"\n'
    )
    check = mailrs_argv("config", "check", "--config", str(config))
    missing = one_line(run(check, tmp_path, bare_env()))
    assert missing == (
        f"Error: {config}: smtp.tls_cert_path/tls_key_path: {tmp_path / 'tls/cert.pem'} "
        "does not exist"
    )
    (tmp_path / "tls").mkdir()
    (tmp_path / "tls/cert.pem").write_text("not a certificate\n")
    (tmp_path / "tls/key.pem").write_text("not a key\n")
    garbage = one_line(run(check, tmp_path, bare_env()))
    assert garbage.startswith(f"Error: {config}: smtp: cannot load TLS certificate")
    for name in ("cert.pem", "key.pem"):
        (tmp_path / "tls" / name).unlink()
    write_selfsigned(tmp_path / "tls", "mail.example.test")
    ok = run(check, tmp_path, bare_env())
    assert ok.returncode == 0, ok.stderr
    assert f"{config}: OK (production mode)" in ok.stdout
    assert "smtp TLS" in ok.stdout
    # The pair that signs the Apple profile must be a certificate with its own key.
    _, other_key = write_selfsigned(tmp_path / "other", "mail.example.test")
    text = config.read_text()
    config.write_text(
        text + f'[public]\nprofile_cert_path = "tls/cert.pem"\nprofile_key_path = "{other_key}"\n'
    )
    mismatch = one_line(run(check, tmp_path, bare_env()))
    assert mismatch == (
        f"Error: {config}: public.profile_cert_path/profile_key_path: {other_key} is not the "
        f"key of {tmp_path / 'tls/cert.pem'}"
    )
    config.write_text(
        text + '[public]\nprofile_cert_path = "tls/cert.pem"\nprofile_key_path = "tls/key.pem"\n'
    )
    signing = run(check, tmp_path, bare_env())
    assert signing.returncode == 0, signing.stderr
    assert f"profile signing {tmp_path / 'tls/cert.pem'}: loads" in signing.stdout


def test_json_log_format_from_the_environment(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    config.write_text(
        config.read_text().replace(
            "[imap]\n",
            f'[imap]\ntls_listen_addr = "127.0.0.1:{free_port()}"\n'
            'tls_cert_path = "data/tls/cert.pem"\ntls_key_path = "data/tls/key.pem"\n',
        )
    )
    env = service_env(config, MAILRS_LOG_FORMAT="json")
    argv = [sys.executable, "-m", "imapd", "--config", str(config)]
    with running(argv, "IMAPS listening", env=env, cwd=tmp_path) as proc:
        line = next(x for x in proc.lines if "IMAPS listening" in x)
    entry = json.loads(line)
    assert entry["level"] == "INFO" and entry["logger"].startswith("imapd")
    assert entry["message"].startswith("IMAPS listening on 127.0.0.1:")
    assert entry["time"].endswith("+00:00")
    bad = run(
        [sys.executable, "-m", "imapd", "--config", str(config)],
        tmp_path,
        service_env(config, MAILRS_LOG_FORMAT="xml"),
    )
    assert one_line(bad) == f"imapd: {config}: log.format: must be text or json, got 'xml'"


def test_gunicorn_logs_json_lines_when_asked(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    script = (
        "import logging.config, runpy; "
        "conf = runpy.run_path('gunicorn.conf.py'); "
        "logging.config.dictConfig(conf['logconfig_dict']); "
        "logging.getLogger('gunicorn.error').info('Booting worker with pid: %s', 42)"
    )
    repo = REPO
    result = run(
        [sys.executable, "-c", script], repo, service_env(config, MAILRS_LOG_FORMAT="json")
    )
    assert result.returncode == 0, result.stderr
    entry = json.loads(result.stderr.strip())
    assert entry["logger"] == "gunicorn.error"
    assert entry["message"] == "Booting worker with pid: 42"
