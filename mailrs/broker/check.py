"""Is the broker reachable? Without importing kombu for the embedded broker.

``mailrs up``'s supervisor asks before it starts the worker; it stays light (it imports
no application code), so for a broker server it runs this module in a child process
(``python -m mailrs.broker.check --config PATH``: prints the verdict, exit 0 when ok).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the supervisor imports this module without the config code
    from mailrs.config import Settings

OK = "ok"


def embedded_missing(folder: Path) -> str:
    """The verdict on an embedded broker whose queue folder is not there."""
    return f"embedded broker folder {folder} is missing"


def check_broker(settings: Settings, timeout: float = 2.0) -> str:
    """'ok' if the broker answers, otherwise a short reason."""
    if settings.embedded_broker:
        folder = settings.broker_dir / "queue"
        return OK if folder.is_dir() else embedded_missing(folder)
    from kombu import Connection

    try:
        with Connection(settings.celery.broker_url, connect_timeout=timeout) as conn:
            conn.ensure_connection(max_retries=1, timeout=timeout)
        return OK
    except Exception as exc:  # any transport error means "unreachable"
        return f"unreachable: {type(exc).__name__}"


def check_broker_apart(config_path: Path, embedded_queue: Path | None, timeout: float = 2.0) -> str:
    """``check_broker``, run in a child process for a broker server (kombu stays out of
    this process); the embedded broker's ``queue`` folder (when given) is looked at here."""
    if embedded_queue is not None:
        return OK if embedded_queue.is_dir() else embedded_missing(embedded_queue)
    argv = [sys.executable, "-m", "mailrs.broker.check", "--config", str(config_path)]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout + 20)
    except subprocess.TimeoutExpired:
        return "unreachable: no answer from the broker check"
    verdict = done.stdout.strip().splitlines()[-1:] or [f"check failed ({done.returncode})"]
    return OK if done.returncode == 0 else verdict[0]


def main(argv: list[str]) -> int:
    """``python -m mailrs.broker.check --config PATH``: print the verdict; 0 when ok."""
    from mailrs.config import load_settings

    path = argv[argv.index("--config") + 1] if "--config" in argv else None
    verdict = check_broker(load_settings(path))
    print(verdict, flush=True)
    return 0 if verdict == OK else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
