"""The servers and tools some tests need, and how a missing one skips (or fails, in CI)."""

from __future__ import annotations

import os
import shutil

import pytest

from mailrs.cli.supervisor import accepts_connections

REQUIRE_SERVICES = os.environ.get("MAILRS_TEST_REQUIRE_SERVICES") == "1"
REDIS_URL = os.environ.get("MAILRS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
POSTGRES_URL = os.environ.get(
    "MAILRS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def require_service(name: str, host: str, port: int) -> None:
    """Skip (or fail, in CI) when a needed server is not running."""
    if accepts_connections(host, port):
        return
    message = f"{name} is not running on {host}:{port}"
    if REQUIRE_SERVICES:
        pytest.fail(message + " (MAILRS_TEST_REQUIRE_SERVICES=1)")
    pytest.skip(message)


def require_tool(name: str) -> str:
    """The path of a command-line tool; skip (or fail, in CI) when it is missing."""
    path = shutil.which(name)
    if path:
        return path
    message = f"{name} is not installed"
    if REQUIRE_SERVICES:
        pytest.fail(message + " (MAILRS_TEST_REQUIRE_SERVICES=1)")
    pytest.skip(message)


def require_file(path: str, how: str) -> str:
    """A file a test needs (``how`` says how to get it); skip (or fail, in CI) when missing."""
    if os.path.isfile(path):
        return path
    message = f"{path} is missing ({how})"
    if REQUIRE_SERVICES:
        pytest.fail(message + " (MAILRS_TEST_REQUIRE_SERVICES=1)")
    pytest.skip(message)
