"""The mailrs config check command, run as a process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def run_mailrs(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mailrs", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin"},
    )


def test_config_check_command(tmp_path: Path) -> None:
    good = write(tmp_path, "[smtp]\nmax_message_size = 100\n")
    ok = run_mailrs("config", "check", "--config", str(good), cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert "OK" in ok.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text("[smtp]\nmax_message_size = -1\n")
    failed = run_mailrs("config", "check", "--config", str(bad), cwd=tmp_path)
    assert failed.returncode == 1
    assert failed.stderr.strip().splitlines() == [
        f"Error: {bad}: smtp.max_message_size: must be greater than 0, got -1"
    ]
    production = tmp_path / "prod.toml"
    production.write_text('mode = "production"\n')
    refused = run_mailrs("config", "check", "--config", str(production), cwd=tmp_path)
    assert refused.returncode == 1 and "api.jwt_secret" in refused.stderr
    missing = run_mailrs("config", "check", "--config", str(tmp_path / "nope.toml"), cwd=tmp_path)
    assert missing.returncode == 1 and "does not exist" in missing.stderr


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mailrs.toml"
    path.write_text(text)
    return path
