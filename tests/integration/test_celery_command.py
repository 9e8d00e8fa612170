"""`celery -A mailrs worker` itself (not our wrapper) finds the app and the broker."""

from __future__ import annotations

import smtplib
from pathlib import Path

import pytest
from support.config import provision, write_config
from support.processes import VENV_BIN, python_m, running, service_env, wait_until

from mailrs.celery import app, configure
from mailrs.config import load_settings, parse_hostport
from mailrs.store.maildir import MaildirStore

pytestmark = pytest.mark.slow  # starts several real processes


def test_plain_celery_command_runs_the_pipeline(tmp_path: Path) -> None:
    config = provision(tmp_path, users=("alice@example.test",))
    settings = load_settings(config, environ={})
    store = MaildirStore(settings.maildir_path)
    env = service_env(config)
    celery = [
        str(VENV_BIN / "celery"),
        "-A",
        "mailrs",
        "worker",
        "-Q",
        "inbound,deliver",
        "-P",
        "solo",
        "--without-mingle",
        "--without-gossip",
        "--loglevel",
        "INFO",
    ]
    with (
        running(python_m("smtpd", "--config", str(config)), "SMTP server listening", env=env),
        running(celery, "ready.", env=env, cwd=tmp_path) as worker,
    ):
        assert "mailrs.broker.embedded:Transport" in worker.output
        host, port = parse_hostport(settings.smtp.listen_addr)
        with smtplib.SMTP(host, port, timeout=30) as client:
            client.sendmail("bob@remote.test", ["alice@example.test"], b"Subject: c\r\n\r\nx\r\n")
        assert wait_until(lambda: len(store.list_messages("alice@example.test")) == 1)


def test_configure_points_the_app_at_redis(tmp_path: Path) -> None:
    config = write_config(tmp_path, broker_url="redis://127.0.0.1:6379/5")
    configure(load_settings(config, environ={}))
    assert app.conf.broker_url == "redis://127.0.0.1:6379/5"
    assert app.conf.broker_transport is None
    embedded = load_settings(write_config(tmp_path), environ={})
    configure(embedded)
    assert app.conf.broker_url == "filesystem://"
    assert app.conf.broker_transport == "mailrs.broker.embedded:Transport"
    options = app.conf.broker_transport_options
    assert options["data_folder_in"] == options["data_folder_out"]
    assert options["data_folder_in"].startswith(str(embedded.data_dir))
