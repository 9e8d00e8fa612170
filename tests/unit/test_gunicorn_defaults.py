"""gunicorn.conf.py read without a config file: the defaults apply."""

from __future__ import annotations

import os
import runpy
from pathlib import Path

import pytest
from support.processes import REPO

CONF = REPO / "gunicorn.conf.py"


def test_settings_without_a_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("MAILRS_") or name == "WEB_CONCURRENCY":
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no ./mailrs.toml here: the defaults apply
    conf = runpy.run_path(str(CONF))
    assert conf["bind"] == ["127.0.0.1:8080"]
    assert (conf["worker_class"], conf["workers"]) == ("gevent", 1)
    assert conf["worker_connections"] >= 500 and 0 < conf["keepalive"] <= 10
    assert conf["graceful_timeout"] <= conf["timeout"]
    assert not (tmp_path / "mailrs.toml").exists()
