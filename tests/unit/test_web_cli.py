"""``flask mail-user``: real ``flask`` processes from the repository root (found via .flaskenv).

Each process start costs about a second, so each test walks through several commands.
The hidden password prompt is tested in-process with Flask's CLI runner.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from flask import Flask

from mailrs.accounts.users import authenticate
from mailrs.config import Settings
from mailrs.db.engine import Database
from mailrs.errors import AuthFailed

REPO = Path(__file__).resolve().parents[2]
FLASK = str(Path(sys.executable).parent / "flask")
ALICE = "alice@example.test"


def can_log_in(settings: Settings, address: str, password: str) -> bool:
    """True when the password opens the account."""
    db = Database.from_settings(settings)
    try:
        with db.session() as session:
            authenticate(session, address, password)
        return True
    except AuthFailed:
        return False
    finally:
        db.dispose()


# -- the interactive prompt, in-process ------------------------------------------------


pytestmark = pytest.mark.web_app(users=False)  # the CLI adds them


def test_hidden_prompt_asks_twice(app: Flask, settings: Settings) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["mail-user", "add", ALICE], input="typed-password\ntyped-password\n"
    )
    assert result.exit_code == 0, result.output
    assert "typed-password" not in result.output  # hidden
    assert can_log_in(settings, ALICE, "typed-password")

    result = runner.invoke(
        args=["mail-user", "passwd", ALICE],
        input="new-password-1\nnew-password-2\nnew-password-3\nnew-password-3\n",
    )
    assert result.exit_code == 0, result.output
    assert "do not match" in result.output
    assert can_log_in(settings, ALICE, "new-password-3")


def test_prompt_is_skipped_for_an_unknown_user(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["mail-user", "passwd", "nobody@example.test"])
    assert result.exit_code == 1
    assert "Password" not in result.output
    assert "no user" in result.output


def test_password_argument_and_stdin_together_are_refused(app: Flask) -> None:
    result = app.test_cli_runner().invoke(
        args=["mail-user", "add", ALICE, "a-password", "--password-stdin"], input="b-password\n"
    )
    assert result.exit_code == 1
    assert "--password-stdin" in result.output


def test_weak_password_is_refused_by_passwd(app: Flask, settings: Settings) -> None:
    runner = app.test_cli_runner()
    assert runner.invoke(args=["mail-user", "add", ALICE, "first-password"]).exit_code == 0
    result = runner.invoke(args=["mail-user", "passwd", ALICE, "short"])
    assert result.exit_code == 1
    assert "at least 8 characters" in result.output
    assert can_log_in(settings, ALICE, "first-password")
