"""``mailrs up``'s plan: what the click process works out and the lean supervisor reads back."""

from __future__ import annotations

import json
from pathlib import Path

from mailrs.cli.plan import write_plan
from mailrs.cli.supervisor import services_from_plan
from mailrs.config import load_settings
from mailrs.config.loading import write_dev_config


def test_the_plan_gives_the_supervisor_every_service_as_planned(tmp_path: Path) -> None:
    """Written as JSON and read back: argv, ports and readiness of the four services, the
    broker check on the worker only, the embedded broker's queue folder, the banner."""
    config = tmp_path / "mailrs.toml"
    write_dev_config(config, str(tmp_path / "data"))
    settings = load_settings(config, environ={})
    plan = json.loads(write_plan(settings, config).read_text())
    services = {service.name: service for service in services_from_plan(plan)}
    assert list(services) == ["smtpd", "imapd", "web", "worker"]
    assert services["smtpd"].address == ("127.0.0.1", 2525)
    assert services["imapd"].address == ("127.0.0.1", 1993)
    assert services["web"].url_prefix == "http://"
    assert services["smtpd"].argv[-2:] == ["--config", str(config)]
    assert services["worker"].address is None and services["worker"].ready_text == "ready."
    # Forked once the fork server holds Celery and kombu: the services that use them.
    assert {name: s.stage for name, s in services.items()} == {
        "smtpd": 1,
        "imapd": 0,
        "web": 0,
        "worker": 1,
    }
    assert [name for name, s in services.items() if s.waits_for] == ["worker"]
    assert plan["embedded_queue"] == str(settings.broker_dir / "queue")
    assert plan["state_path"] == str(settings.data_dir / "run" / "status.json")
    assert any("submission" in line for line in services["smtpd"].also)
    assert plan["banner"][0] == f"Database: {settings.database_url}"


def test_the_worker_waits_for_a_missing_embedded_broker_folder(tmp_path: Path) -> None:
    """The worker's check names the embedded broker's missing folder, and passes once the
    folder is there (no child process for the embedded broker)."""
    config = tmp_path / "mailrs.toml"
    write_dev_config(config, str(tmp_path / "data"))
    settings = load_settings(config, environ={})
    plan = json.loads(write_plan(settings, config).read_text())
    worker = services_from_plan(plan)[-1]
    assert worker.waits_for is not None
    reason = worker.waits_for()
    assert reason is not None and "embedded broker folder" in reason
    (settings.broker_dir / "queue").mkdir(parents=True)
    assert worker.waits_for() is None
