"""The supervisor's state file, ``<data_dir>/run/status.json``, and reading it back.

``mailrs up`` rewrites the file (to a temporary name, then renamed: readers never see
half a file) whenever a service starts, becomes ready, dies or is restarted; ``mailrs
status`` reads it. Each pid is stored with its start time from ``/proc``, so a pid
that the kernel has since given to another process is not mistaken for ours.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


def state_file(data_dir: Path) -> Path:
    """Where the supervisor of this data directory keeps its state."""
    return data_dir / "run" / "status.json"


def process_start(pid: int) -> int | None:
    """The start time of ``pid`` in clock ticks since boot (Linux), or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read().decode("ascii", "replace")
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()
    # After "pid (comm)": state is field 3, starttime is field 22.
    if len(fields) < 20 or fields[0] == "Z":
        return None
    return int(fields[19])


def is_alive(pid: int | None, start: int | None) -> bool:
    """True when ``pid`` still runs and is the process that started at ``start``."""
    if not pid:
        return False
    if Path("/proc/self/stat").exists():
        now = process_start(pid)
        return now is not None and (start is None or now == start)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class ServiceState:
    """What ``mailrs status`` shows for one service."""

    name: str
    state: str  # starting, running, waiting, backoff, stopped, failed
    pid: int | None = None
    pid_start: int | None = None
    started_at: float | None = None  # wall clock (epoch seconds) of the current run
    restarts: int = 0
    last_exit: str = ""
    last_exit_at: float | None = None
    note: str = ""


@dataclass
class RunState:
    """The supervisor and its services, as written to the state file."""

    pid: int
    pid_start: int | None
    started_at: float
    state: str  # starting, running, stopping, stopped, failed
    services: list[ServiceState] = field(default_factory=list)
    updated_at: float = 0.0


def write_state(path: Path, state: RunState) -> None:
    """Replace the state file atomically (never raises: status is informative only)."""
    state.updated_at = time.time()
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}")
        temporary.write_text(json.dumps(asdict(state), indent=1))
        os.replace(temporary, path)


def read_state(path: Path) -> RunState | None:
    """The last state written, or None when there is none (or it is unreadable)."""
    try:
        raw: dict[str, Any] = json.loads(path.read_text())
        services = [ServiceState(**item) for item in raw.pop("services", [])]
        return RunState(services=services, **raw)
    except (OSError, ValueError, TypeError):
        return None


def human_secs(secs: float) -> str:
    """``3s``, ``4m05s``, ``2h07m``, ``3d04h``."""
    secs = max(0, int(secs))
    if secs < 60:
        return f"{secs}s"
    if secs < 3600:
        return f"{secs // 60}m{secs % 60:02d}s"
    if secs < 86400:
        return f"{secs // 3600}h{secs % 3600 // 60:02d}m"
    return f"{secs // 86400}d{secs % 86400 // 3600:02d}h"
