"""The retry schedule of deferred mail: exponential backoff with jitter, capped."""

from __future__ import annotations

import random

from mailrs.config import RelaySettings


def backoff_secs(relay: RelaySettings, attempt: int, rng: random.Random | None = None) -> float:
    """Seconds to wait before retry number ``attempt`` (0 for the first retry)."""
    base = min(relay.retry_base_secs * relay.retry_factor ** min(attempt, 64), relay.retry_max_secs)
    spread = base * relay.retry_jitter
    return max(0.0, base + (rng or random).uniform(-spread, spread))
