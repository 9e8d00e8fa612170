"""The habits STYLE.md asks for, checked by the test command: ruff lint and format, mypy."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PACKAGES = ["mailrs", "workers", "smtpd", "imapd", "web", "celeryconfig.py", "gunicorn.conf.py"]


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=300)


def test_ruff_lint() -> None:
    result = run(str(BIN / "ruff"), "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format() -> None:
    result = run(str(BIN / "ruff"), "format", "--check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy() -> None:
    result = run(str(BIN / "mypy"), *PACKAGES)
    assert result.returncode == 0, result.stdout + result.stderr


def test_services_import_only_the_core() -> None:
    """Imports run one way: services -> mailrs; the core never imports a service."""
    services = ("workers", "smtpd", "imapd", "web")

    def imports(text: str, package: str) -> bool:
        pattern = rf"^[ \t]*(from|import)[ \t]+{package}(\.|[ \t]|$)"
        return re.search(pattern, text, re.MULTILINE) is not None

    for path in (REPO / "mailrs").rglob("*.py"):
        text = path.read_text()
        for service in services:
            assert not imports(text, service), f"{path} imports {service}"
    for service in services:
        for path in (REPO / service).rglob("*.py"):
            text = path.read_text()
            for other in services:
                if other != service:
                    assert not imports(text, other), f"{path} imports {other}"
