"""Pipeline metrics of a worker: each task's run time and result by stage (Celery's task
signals), and delivery and bounce outcomes as the pipeline records them (``count_event``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from celery import Task
from celery.signals import task_postrun, task_prerun, worker_process_init, worker_ready

from mailrs.celery import app_settings
from mailrs.metrics.instruments import instruments
from mailrs.metrics.process import setup

DELIVERY_RESULTS = ("delivered", "deferred", "failed", "expired")
_started: dict[str, float] = {}


def _stage(task: Task) -> str:
    return str(task.name).removeprefix("mailrs.")


@worker_ready.connect
@worker_process_init.connect
def _setup(**_: Any) -> None:
    """Every worker process (the parent before it forks, and each child) writes to the
    shared metrics folder."""
    setup(app_settings())


@task_prerun.connect
def _task_started(task_id: str = "", task: Task | None = None, **_: Any) -> None:
    _started[task_id] = time.monotonic()


@task_postrun.connect
def _task_done(
    task_id: str = "", task: Task | None = None, state: str | None = None, **_: Any
) -> None:
    started = _started.pop(task_id, None)
    if task is None or started is None:
        return
    stage = _stage(task)
    metrics = instruments()
    metrics.pipeline_stage_seconds.labels(stage).observe(time.monotonic() - started)
    metrics.pipeline_tasks.labels(stage, "success" if state == "SUCCESS" else "failure").inc()


@contextmanager
def stage_timer(stage: str) -> Iterator[None]:
    """Time one stage run inside a task (the batch pipeline runs several) and count its result."""
    started = time.monotonic()
    result = "failure"
    try:
        yield
        result = "success"
    finally:
        metrics = instruments()
        metrics.pipeline_stage_seconds.labels(stage).observe(time.monotonic() - started)
        metrics.pipeline_tasks.labels(stage, result).inc()


def count_event(stage: str, detail: str) -> None:
    """Count a pipeline history event that is a delivery outcome or a bounce."""
    if stage in DELIVERY_RESULTS:
        instruments().deliveries.labels(stage).inc()
    elif stage == "bounce":
        instruments().bounces.labels("sent" if detail.startswith("DSN") else "suppressed").inc()
