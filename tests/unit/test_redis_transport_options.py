"""A Redis broker URL selects kombu's own transport with mailrs' shared client installed."""

from __future__ import annotations

from pathlib import Path

from mailrs.broker import redis_transport
from mailrs.broker.options import celery_options
from mailrs.config import load_settings


def test_a_redis_broker_installs_the_shared_client(tmp_path: Path) -> None:
    config = tmp_path / "mailrs.toml"
    config.write_text('[celery]\nbroker_url = "redis://127.0.0.1:6379/0"\n')
    options = celery_options(load_settings(config, environ={}))
    assert options["broker_transport"] is None  # kombu's own transport, URLs unchanged
    assert redis_transport.installed()
