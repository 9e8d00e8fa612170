"""Per-process set-up of prometheus-client's multiprocess mode under ``<data_dir>/metrics``."""

from __future__ import annotations

import os

from mailrs.config import Settings

ENV = "PROMETHEUS_MULTIPROC_DIR"


def setup(settings: Settings) -> bool:
    """Point this process's metric values at the shared folder; False when metrics are off.

    Idempotent. Child processes (gunicorn and Celery workers) inherit the folder through
    the environment, and prometheus-client opens a file of their own by pid.
    """
    if not settings.metrics.enabled:
        return False
    folder = settings.metrics_dir
    folder.mkdir(parents=True, exist_ok=True)
    if os.environ.get(ENV) != str(folder):
        os.environ[ENV] = str(folder)
        from prometheus_client import values

        values.ValueClass = values.get_value_class()  # chosen at import: choose again
    return True


def process_exited(pid: int) -> None:
    """Drop the live gauges of a process that ended (a gunicorn or Celery child)."""
    if os.environ.get(ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)
