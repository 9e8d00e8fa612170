"""The ``[imap]`` settings: defaults, overrides and the errors for bad values."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailrs.config import load_settings
from mailrs.errors import ConfigError


def test_defaults(config_path: Path) -> None:
    imap = load_settings(config_path, environ={}).imap
    assert imap.plaintext_auth == "loopback" and imap.tls_listen_addr == ""
    assert imap.max_literal_bytes == 50 * 1024 * 1024 and imap.max_line_bytes == 65536


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("MAILRS_IMAP_PLAINTEXT_AUTH", "sometimes", "imap.plaintext_auth"),
        ("MAILRS_IMAP_TLS_LISTEN_ADDR", "127.0.0.1:1994", "imap.tls_cert_path"),
        ("MAILRS_IMAP_TLS_CERT_PATH", "/tmp/cert.pem", "imap.tls_cert_path"),
        ("MAILRS_IMAP_TLS_LISTEN_ADDR", "nowhere", "imap.tls_listen_addr"),
        ("MAILRS_IMAP_MAX_LITERAL_BYTES", "0", "imap.max_literal_bytes"),
        ("MAILRS_IMAP_MAX_LINE_BYTES", "100", "imap.max_line_bytes"),
        ("MAILRS_IMAP_MAX_CONNECTIONS_PER_IP", "-1", "imap.max_connections_per_ip"),
    ],
)
def test_bad_values_name_the_key(
    config_path: Path, variable: str, value: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        load_settings(config_path, environ={variable: value})
