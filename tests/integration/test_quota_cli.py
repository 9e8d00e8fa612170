"""``flask mail-user quota`` as an administrator runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from mailrs.accounts.users import find_user
from mailrs.config import Settings
from mailrs.db.engine import Database
from mailrs.store.maildir import MaildirStore

REPO = Path(__file__).resolve().parents[2]
FLASK = str(Path(sys.executable).parent / "flask")
ALICE = "alice@example.test"


def mail_user(config_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``flask mail-user ARGS`` against the test's config."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAILRS_", "FLASK_"))}
    env["MAILRS_CONFIG"] = str(config_path)
    return subprocess.run(
        [FLASK, "mail-user", *args],
        cwd=REPO,
        env=env,
        input="",
        capture_output=True,
        text=True,
        timeout=60,
    )


def quota_bytes(settings: Settings) -> int | None:
    """Alice's quota as stored."""
    db = Database.from_settings(settings)
    try:
        with db.session() as session:
            user = find_user(session, ALICE)
            assert user is not None
            return user.quota_bytes
    finally:
        db.dispose()


def test_quota_command(config_path: Path, settings: Settings) -> None:
    assert mail_user(config_path, "add", ALICE, "a good password").returncode == 0
    MaildirStore(settings.maildir_path).deliver(ALICE, b"Subject: s\r\n\r\n" + b"q" * 3000)
    result = mail_user(config_path, "quota", ALICE, "2G")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{ALICE}: 2.9 KiB used of 2.0 GiB"
    assert quota_bytes(settings) == 2 * 1024**3
    assert mail_user(config_path, "quota", ALICE, "500K").returncode == 0
    assert quota_bytes(settings) == 500 * 1024
    result = mail_user(config_path, "quota", ALICE)  # show only
    assert result.stdout.strip().endswith("used of 500.0 KiB")
    assert mail_user(config_path, "quota", ALICE, "none").returncode == 0
    assert quota_bytes(settings) is None
    bad = mail_user(config_path, "quota", ALICE, "12 parsecs")
    assert bad.returncode == 1 and bad.stderr.startswith("Error: not a size")
    missing = mail_user(config_path, "quota", "nobody@example.test", "1G")
    assert missing.returncode == 1 and "no user" in missing.stderr
