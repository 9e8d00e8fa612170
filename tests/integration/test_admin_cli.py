"""``flask mail-user add --admin`` and ``flask mail-user admin EMAIL on|off``, run as processes."""

from __future__ import annotations

from pathlib import Path

from support.config import write_config
from test_quota_cli import mail_user

from mailrs.accounts.users import find_user
from mailrs.config import load_settings
from mailrs.db.engine import Database

ADMIN = "root@example.test"


def is_admin(config: Path, address: str) -> bool:
    """The stored admin flag of an account."""
    db = Database.from_settings(load_settings(config, environ={}))
    try:
        with db.session() as session:
            user = find_user(session, address)
            assert user is not None
            return user.is_admin
    finally:
        db.dispose()


def test_admin_role_commands(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    added = mail_user(config, "add", "--admin", ADMIN, "the root password")
    assert (added.returncode, added.stdout.strip()) == (0, f"Added {ADMIN} (admin)")
    assert is_admin(config, ADMIN)
    assert mail_user(config, "add", "user@example.test", "a user password").returncode == 0
    assert not is_admin(config, "user@example.test")
    assert mail_user(config, "admin", "user@example.test", "on").returncode == 0
    assert is_admin(config, "user@example.test")
    off = mail_user(config, "admin", ADMIN, "off")
    assert (off.returncode, off.stdout.strip()) == (0, f"Admin role off for {ADMIN}")
    assert not is_admin(config, ADMIN)
    missing = mail_user(config, "admin", "nobody@example.test", "on")
    assert missing.returncode == 1 and missing.stderr.startswith("Error: no user")
    assert mail_user(config, "admin", ADMIN, "maybe").returncode == 2
