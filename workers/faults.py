"""Fault injection for crash tests: pause a stage so a test can kill the worker mid-task.

Set MAILRS_FAULT_PAUSE_STAGE=<stage> and MAILRS_FAULT_DIR=<dir>: when that stage starts
on a message it creates ``<dir>/<stage>-<queue_id>.started`` and sleeps until killed
(at most MAILRS_FAULT_PAUSE_SECS, default 60). Unset, it does nothing.
"""

from __future__ import annotations

import os
import time
from pathlib import Path


def pause_point(stage: str, queue_id: str) -> None:
    """Block here if a crash test asked to pause this stage."""
    if os.environ.get("MAILRS_FAULT_PAUSE_STAGE") != stage:
        return
    folder = Path(os.environ.get("MAILRS_FAULT_DIR", "."))
    (folder / f"{stage}-{queue_id}.started").touch()
    time.sleep(float(os.environ.get("MAILRS_FAULT_PAUSE_SECS", "60")))
