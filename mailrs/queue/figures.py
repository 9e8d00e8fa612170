"""Pipeline figures for the admin area: per stage, how many messages passed it recently,
how long after receipt, and how many failed; messages and deliveries by state."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mailrs.db.models import Delivery, Message, MessageEvent, utcnow

FAILURE_STAGES = ("deferred", "failed", "expired", "bounce")
MAX_EVENTS = 50_000


@dataclass(frozen=True)
class StageFigures:
    """One stage over the window: events, mean and worst seconds since receipt."""

    stage: str
    count: int
    mean_secs: float
    max_secs: float


@dataclass(frozen=True)
class PipelineFigures:
    """Every figure the pipeline page shows."""

    window_hours: int
    stages: list[StageFigures]
    failures: int
    messages_by_state: dict[str, int]
    deliveries_by_state: dict[str, int]
    queued: int


def pipeline_figures(session: Session, window_hours: int = 24) -> PipelineFigures:
    """The figures of the last ``window_hours`` (states: of every message kept)."""
    since = utcnow() - dt.timedelta(hours=window_hours)
    rows = session.execute(
        select(MessageEvent.stage, MessageEvent.at, Message.received_at)
        .join(Message, Message.id == MessageEvent.message_id)
        .where(MessageEvent.at >= since)
        .order_by(MessageEvent.id.desc())
        .limit(MAX_EVENTS)
    ).all()
    latencies: dict[str, list[float]] = defaultdict(list)
    for stage, at, received in rows:
        latencies[stage].append(max(0.0, (at - received).total_seconds()))
    stages = [
        StageFigures(stage, len(secs), sum(secs) / len(secs), max(secs))
        for stage, secs in sorted(latencies.items())
    ]
    by_state = session.execute(select(Message.state, func.count()).group_by(Message.state)).all()
    deliveries = session.execute(
        select(Delivery.state, func.count()).group_by(Delivery.state)
    ).all()
    queued = session.scalar(
        select(func.count()).select_from(Message).where(Message.finished_at.is_(None))
    )
    failures = sum(len(latencies.get(stage, [])) for stage in FAILURE_STAGES)
    return PipelineFigures(
        window_hours,
        stages,
        failures,
        {str(state): int(n) for state, n in by_state},
        {str(state): int(n) for state, n in deliveries},
        int(queued or 0),
    )
