"""When ``mailrs up`` restarts a dead service, and when it gives up.

Like systemd's ``Restart=on-failure`` with ``StartLimitBurst``, or Postfix's master
throttling a service that dies at once: a service that dies is started again after a
backoff that doubles while its runs stay short (``STABLE_SECS``) and starts over once a
run has lasted; ``GIVE_UP_CRASHES`` fast crashes within ``GIVE_UP_WINDOW_SECS`` mean a
restart will not help (a broken config, a port someone else took), so the supervisor
stops everything and exits non-zero. A run ended by SIGKILL is restarted but never
counted toward giving up nor lengthens the backoff: SIGKILL comes from outside (an
operator, the OOM killer, a fault test) and says nothing about whether the next start
will work, so the service is started again at once.
"""

from __future__ import annotations

import signal
from collections import deque
from dataclasses import dataclass, field

BACKOFF_BASE_SECS = 0.25
BACKOFF_MAX_SECS = 4.0
STABLE_SECS = 10.0
GIVE_UP_CRASHES = 5
GIVE_UP_WINDOW_SECS = 60.0


def describe_exit(code: int) -> str:
    """``exited with code 1`` or ``exited with signal 9 (SIGKILL)`` for a Popen return code."""
    if code >= 0:
        return f"exited with code {code}"
    try:
        name = signal.Signals(-code).name
    except ValueError:
        return f"exited with signal {-code}"
    return f"exited with signal {-code} ({name})"


@dataclass
class CrashHistory:
    """One service's recent deaths: the next backoff, and whether to give up."""

    streak: int = 0  # consecutive short runs that ended by themselves
    fast_crashes: deque[float] = field(default_factory=deque)

    def record(self, now: float, uptime: float, code: int) -> float | None:
        """Note a death at monotonic ``now``; the delay before restarting, or None to give up."""
        killed = code == -signal.SIGKILL
        if uptime >= STABLE_SECS:
            self.streak = 0
        if uptime < STABLE_SECS and not killed:
            self.fast_crashes.append(now)
        while self.fast_crashes and now - self.fast_crashes[0] > GIVE_UP_WINDOW_SECS:
            self.fast_crashes.popleft()
        if len(self.fast_crashes) >= GIVE_UP_CRASHES:
            return None
        if killed:
            return BACKOFF_BASE_SECS
        self.streak += 1
        return min(BACKOFF_MAX_SECS, BACKOFF_BASE_SECS * 2 ** (self.streak - 1))
