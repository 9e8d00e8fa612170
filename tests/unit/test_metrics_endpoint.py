"""Who may read /metrics: loopback clients, or only bearers of ``[metrics] token`` when it is
set; nothing at all when metrics are off. The config section checks its addresses."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families
from support.web import append_config, build_app

from mailrs.config import ConfigError, load_settings

OUTSIDE = {"REMOTE_ADDR": "192.0.2.7"}


def test_loopback_only_by_default(client: FlaskClient) -> None:
    client.get("/login")
    page = client.get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    # (what other processes counted is checked in tests/integration/test_metrics_scrape.py:
    # in one test process, the first app's metrics folder stays the one written to)
    names = {f.name for f in text_string_to_metric_families(page.get_data(as_text=True))}
    assert "mailrs_queue_messages" in names
    assert client.get("/metrics", environ_base=OUTSIDE).status_code == 403


def test_token_when_configured(config_path: Path) -> None:
    append_config(config_path, '[metrics]\ntoken = "scrape-secret"')
    client = build_app(config_path).test_client()
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"}).status_code == 403
    good = {"Authorization": "Bearer scrape-secret"}
    assert client.get("/metrics", headers=good, environ_base=OUTSIDE).status_code == 200
    bad = {"Authorization": "Bearer guess"}
    assert client.get("/metrics", headers=bad, environ_base=OUTSIDE).status_code == 403


def test_off_means_no_endpoint(config_path: Path) -> None:
    append_config(config_path, "[metrics]\nenabled = false")
    assert build_app(config_path).test_client().get("/metrics").status_code == 404


def test_addresses_are_checked(config_path: Path) -> None:
    append_config(config_path, '[metrics]\nsmtpd_addr = "nowhere"')
    with pytest.raises(ConfigError, match="metrics.smtpd_addr"):
        load_settings(config_path, environ={})
