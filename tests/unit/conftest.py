"""The unit tier: no sockets, no child processes; the guard makes either fail loudly.

The guard is on during every phase of every test here, including the set-up of module-
and session-scoped fixtures the test is the first to need (an autouse fixture would come
too late for those). Passwords are hashed with Argon2id at test cost (``support.passwords``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from support.isolation import no_network_no_processes
from support.passwords import cheap_argon2
from support.web import append_config, build_app, log_in

from web import create_app


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    """Fixture set-up runs under the guard."""
    with no_network_no_processes(), cheap_argon2():
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """The test body runs under the guard."""
    with no_network_no_processes(), cheap_argon2():
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """Fixture tear-down runs under the guard."""
    with no_network_no_processes(), cheap_argon2():
        return (yield)


@pytest.fixture
def app(request: pytest.FixtureRequest, config_path: Path) -> Iterator[Flask]:
    """The web app on the test's config, with Alice and Bob (``support.web.build_app``).

    A module's ``web_app`` marker adds TOML to the config (``config=``), leaves the
    accounts out (``users=False``) or makes ``client`` log in as Alice (``logged_in=True``).
    """
    options = _web_options(request)
    if options.get("config"):
        append_config(config_path, str(options["config"]))
    if options.get("users", True):
        web_app = build_app(config_path)
    else:
        web_app = create_app({"MAILRS_CONFIG": str(config_path), "TESTING": True})
    yield web_app
    web_app.extensions["mailrs"].database.dispose()


@pytest.fixture
def client(request: pytest.FixtureRequest, app: Flask) -> FlaskClient:
    """A test client of ``app`` (logged in as Alice when the module's marker says so)."""
    test_client = app.test_client()
    return log_in(test_client) if _web_options(request).get("logged_in") else test_client


def _web_options(request: pytest.FixtureRequest) -> dict[str, object]:
    marker = request.node.get_closest_marker("web_app")
    return dict(marker.kwargs) if marker else {}
