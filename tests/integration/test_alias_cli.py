"""``mailrs alias add|list|delete`` as an admin runs it, checked through recipient resolution."""

from __future__ import annotations

import subprocess
from pathlib import Path

from support.config import provision
from support.processes import mailrs_argv, service_env

from mailrs.accounts.resolve import resolve_recipient
from mailrs.config import load_settings
from mailrs.db.engine import Database


def mailrs(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        mailrs_argv(*args, "--config", str(config)),
        env=service_env(config),
        capture_output=True,
        text=True,
        timeout=60,
    )


def resolve(config: Path, address: str) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    settings = load_settings(config, environ={})
    db = Database.from_settings(settings)
    with db.session() as session:
        found = resolve_recipient(session, address, settings.smtp.local_domains)
    db.dispose()
    return None if found is None else (found.local, found.remote)


def test_alias_add_list_delete(tmp_path: Path) -> None:
    config = provision(tmp_path, users=("alice@example.test", "bob@example.test"))
    added = mailrs(
        config, "alias", "add", "Team@Example.test", "alice@example.test", "x@remote.test"
    )
    assert added.returncode == 0, added.stderr
    assert mailrs(config, "alias", "add", "@example.test", "bob@example.test").returncode == 0
    listed = mailrs(config, "alias", "list")
    assert listed.stdout.splitlines() == [
        "@example.test -> bob@example.test",
        "team@example.test -> alice@example.test",
        "team@example.test -> x@remote.test",
    ]
    assert resolve(config, "team@example.test") == (("alice@example.test",), ("x@remote.test",))
    assert resolve(config, "whoever@example.test") == (("bob@example.test",), ())

    removed = mailrs(config, "alias", "delete", "team@example.test", "x@remote.test")
    assert removed.returncode == 0 and "removed 1" in removed.stdout
    assert resolve(config, "team@example.test") == (("alice@example.test",), ())
    assert mailrs(config, "alias", "delete", "@example.test").returncode == 0
    assert mailrs(config, "alias", "delete", "team@example.test").returncode == 0
    assert resolve(config, "team@example.test") is None
    assert mailrs(config, "alias", "list").stdout == ""


def test_alias_bad_input_is_one_line_and_exit_1(tmp_path: Path) -> None:
    config = provision(tmp_path)
    for args in (
        ("alias", "add", "not an address", "alice@example.test"),
        ("alias", "add", "a@example.test", "bad@@dest"),
        ("alias", "delete", "missing@example.test"),
    ):
        result = mailrs(config, *args)
        assert result.returncode == 1, args
        assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1, result.stderr
        assert "Traceback" not in result.stderr
    assert mailrs(config, "alias", "add", "a@example.test").returncode == 2  # usage error
