"""Quota sizes as an admin types them, and the fit rules SMTP, IMAP and delivery share."""

from __future__ import annotations

import pytest

from mailrs.accounts.quota import fits, format_size, is_full, parse_quota


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("2G", 2 * 1024**3),
        ("500M", 500 * 1024**2),
        ("10k", 10 * 1024),
        ("1.5G", int(1.5 * 1024**3)),
        ("2GiB", 2 * 1024**3),
        ("1234", 1234),
        ("none", None),
        ("Unlimited", None),
    ],
)
def test_parse_quota(text: str, size: int | None) -> None:
    assert parse_quota(text) == size


@pytest.mark.parametrize("text", ["", "-1G", "2X", "G", "1e9", "99999999999T"])
def test_parse_quota_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        parse_quota(text)


def test_fit_rules() -> None:
    assert fits(None, 10**12, 10**12)
    assert fits(100, 40, 60) and not fits(100, 41, 60)
    assert is_full(0, 0) and is_full(100, 100) and not is_full(100, 99)
    assert not is_full(None, 10**12)


def test_format_size() -> None:
    assert format_size(None) == "unlimited"
    assert format_size(512) == "512 B"
    assert format_size(2 * 1024**3) == "2.0 GiB"
