"""TLS contexts: old protocols refused, a missing or bad pair is a config error."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from mailrs.errors import ConfigError
from mailrs.tls import client_context, server_context


def test_old_protocols_are_refused(tmp_path: Path) -> None:
    from mailrs.tls import write_selfsigned

    cert, key = write_selfsigned(tmp_path)
    assert server_context(cert, key).minimum_version == ssl.TLSVersion.TLSv1_2
    assert client_context(verify=False).verify_mode == ssl.CERT_NONE


def test_a_missing_or_bad_pair_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "bad.pem").write_text("not a certificate")
    with pytest.raises(ConfigError):
        server_context(tmp_path / "missing.pem", tmp_path / "missing.key")
    with pytest.raises(ConfigError):
        server_context(tmp_path / "bad.pem", tmp_path / "bad.pem")
