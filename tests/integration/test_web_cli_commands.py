"""The flask mail-user commands run as processes, as an administrator would."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from mailrs.accounts.users import add_user, authenticate
from mailrs.config import Settings
from mailrs.db.engine import Database
from mailrs.errors import AuthFailed
from mailrs.store.maildir import MaildirStore

REPO = Path(__file__).resolve().parents[2]


FLASK = str(Path(sys.executable).parent / "flask")


ALICE = "alice@example.test"


@pytest.fixture
def mail_user(config_path: Path) -> RunMailUser:
    """Run ``flask mail-user ARGS`` in the repository root against the test's config."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAILRS_", "FLASK_"))}
    env["MAILRS_CONFIG"] = str(config_path)

    def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [FLASK, "mail-user", *args],
            cwd=REPO,
            env=env,
            input=stdin if stdin is not None else "",
            capture_output=True,
            text=True,
            timeout=60,
        )

    return run


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


def assert_error(result: subprocess.CompletedProcess[str], text: str) -> None:
    """Exit status 1 and exactly one ``Error: ...`` line on stderr mentioning ``text``."""
    assert result.returncode == 1, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    assert text in lines[0]
    assert result.stdout == ""


def test_account_lifecycle(mail_user: RunMailUser, settings: Settings, store: MaildirStore) -> None:
    result = mail_user("list")  # a fresh database: the schema is created on the way
    assert (result.returncode, result.stdout) == (0, "")

    result = mail_user("add", "Alice@Example.test", "first-password")
    assert result.returncode == 0, result.stderr
    assert ALICE in result.stdout
    maildir = store.user_dir(ALICE)
    for sub in ("cur", "new", "tmp"):
        assert (maildir / sub).is_dir()
    assert mail_user("add", "bob@example.test", "bobs-password").returncode == 0

    result = mail_user("list")
    assert (result.returncode, result.stdout) == (0, f"{ALICE}\nbob@example.test\n")

    assert mail_user("exists", ALICE).returncode == 0
    assert mail_user("exists", "carol@example.test").returncode == 1

    result = mail_user("passwd", ALICE, "second-password")
    assert result.returncode == 0, result.stderr
    assert can_log_in(settings, ALICE, "second-password")
    assert not can_log_in(settings, ALICE, "first-password")

    result = mail_user("delete", "bob@example.test")
    assert result.returncode == 0, result.stderr
    assert store.user_dir("bob@example.test").is_dir()  # mail kept without --purge
    result = mail_user("delete", ALICE, "--purge")
    assert result.returncode == 0, result.stderr
    assert not maildir.exists()
    assert mail_user("exists", ALICE).returncode == 1


def test_password_from_stdin(mail_user: RunMailUser, settings: Settings) -> None:
    result = mail_user("add", ALICE, "--password-stdin", stdin="with spaces inside \n")
    assert result.returncode == 0, result.stderr
    assert can_log_in(settings, ALICE, "with spaces inside ")

    result = mail_user("passwd", ALICE, "--password-stdin", stdin="another-password\nignored\n")
    assert result.returncode == 0, result.stderr
    assert can_log_in(settings, ALICE, "another-password")

    assert_error(mail_user("passwd", ALICE, "--password-stdin", stdin=""), "no password")


def test_errors_are_one_line_and_exit_1(
    mail_user: RunMailUser, database: Database, store: MaildirStore
) -> None:
    with database.session() as session:
        add_user(session, store, ALICE, "first-password")
    assert_error(mail_user("add", ALICE, "other-password"), "already exists")
    assert_error(mail_user("add", "not-an-address", "first-password"), "invalid address")
    assert_error(mail_user("add", "bob@example.test", "short"), "at least 8 characters")
    assert_error(mail_user("passwd", "nobody@example.test", "long-enough"), "no user")
    assert_error(mail_user("delete", "nobody@example.test"), "no user")


def test_config_option_instead_of_the_environment(config_path: Path, store: MaildirStore) -> None:
    """``flask mail-user --config PATH`` works with no MAILRS_CONFIG and creates nothing else."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAILRS_", "FLASK_"))}
    run = [FLASK, "mail-user", "--config", str(config_path)]
    added = subprocess.run(
        [*run, "add", ALICE, "--password-stdin"],
        cwd=REPO,
        env=env,
        input="alice password\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert added.returncode == 0, added.stderr
    assert store.user_exists(ALICE)
    listed = subprocess.run(
        [*run, "list"], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )
    assert listed.stdout.split() == [ALICE]
    assert not (REPO / "mailrs.toml").exists()
    missing = subprocess.run(
        [FLASK, "mail-user", "--config", str(config_path.parent / "nope.toml"), "list"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert missing.returncode != 0 and "does not exist" in missing.stderr


RunMailUser = Callable[..., subprocess.CompletedProcess[str]]
