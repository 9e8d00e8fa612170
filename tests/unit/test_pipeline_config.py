"""The [relay], [spam] and [celery] keys of the pipeline: defaults and refused values."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.config import unused_port, write_config
from support.pipeline import add_config

from mailrs.config import dns_server_address, load_settings
from mailrs.errors import ConfigError


def test_defaults(tmp_path: Path) -> None:
    settings = load_settings(write_config(tmp_path, port=unused_port), environ={})
    relay, spam = settings.relay, settings.spam
    assert relay.smtp_port == 25 and relay.dns_servers == ()
    assert relay.retry_base_secs == 300 and relay.retry_max_secs == 4 * 3600
    assert relay.max_lifetime_secs == 5 * 86400 and relay.delay_warning_secs == 4 * 3600
    assert spam.filter == "builtin" and spam.threshold == 5.0 and spam.junk_folder
    assert settings.celery.task_events


@pytest.mark.parametrize(
    ("section", "keys", "message"),
    [
        ("relay", {"smtp_port": 0}, "relay.smtp_port"),
        ("relay", {"dns_servers": ["dns.example"]}, "not an IP address"),
        ("relay", {"dns_servers": ["127.0.0.1:99999"]}, "out of range"),
        ("relay", {"smarthost": "nohostport"}, "relay.smarthost"),
        ("relay", {"smarthost_tls": "maybe"}, "relay.smarthost_tls"),
        ("relay", {"smarthost_username": "u"}, "set both or neither"),
        ("relay", {"retry_base_secs": 0}, "relay.retry_base_secs"),
        ("relay", {"retry_factor": 0.5}, "relay.retry_factor"),
        ("relay", {"retry_jitter": 1.5}, "relay.retry_jitter"),
        ("relay", {"max_lifetime_secs": -1}, "relay.max_lifetime_secs"),
        ("relay", {"dkim_selector": "s1"}, "relay.dkim_selector"),
        ("relay", {"retry_schedule": "x"}, "unknown key"),
        ("spam", {"filter": ""}, "spam.filter"),
        ("spam", {"timeout_secs": 0}, "spam.timeout_secs"),
        ("spam", {"rspamd_url": "127.0.0.1:11333"}, "spam.rspamd_url"),
        ("spam", {"threshold": "high"}, "expected a number"),
    ],
)
def test_bad_values_are_refused_by_name(
    tmp_path: Path, section: str, keys: dict[str, object], message: str
) -> None:
    config = write_config(tmp_path, port=unused_port)
    add_config(config, section, **keys)
    with pytest.raises(ConfigError, match=message):
        load_settings(config, environ={})


def test_environment_overrides_and_dns_server_forms(tmp_path: Path) -> None:
    environ = {
        "MAILRS_RELAY_DNS_SERVERS": "127.0.0.1:5353, ::1",
        "MAILRS_RELAY_RETRY_BASE_SECS": "0.5",
        "MAILRS_SPAM_FILTER": "none",
    }
    settings = load_settings(write_config(tmp_path, port=unused_port), environ=environ)
    assert settings.relay.dns_servers == ("127.0.0.1:5353", "::1")
    assert settings.relay.retry_base_secs == 0.5 and settings.spam.filter == "none"
    assert dns_server_address("127.0.0.1:5353") == ("127.0.0.1", 5353)
    assert dns_server_address("::1") == ("::1", 53)
    assert dns_server_address("[::1]:5300") == ("::1", 5300)
    assert dns_server_address("10.0.0.1") == ("10.0.0.1", 53)
