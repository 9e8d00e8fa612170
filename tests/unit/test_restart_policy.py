"""The supervisor's restart policy: backoff while runs stay short, give up on fast crashes."""

from __future__ import annotations

import signal

from mailrs.cli.restart_policy import (
    BACKOFF_BASE_SECS,
    BACKOFF_MAX_SECS,
    GIVE_UP_CRASHES,
    CrashHistory,
    describe_exit,
)


def test_exit_descriptions() -> None:
    assert describe_exit(1) == "exited with code 1"
    assert describe_exit(0) == "exited with code 0"
    assert describe_exit(-signal.SIGKILL) == "exited with signal 9 (SIGKILL)"
    assert describe_exit(-signal.SIGSEGV) == "exited with signal 11 (SIGSEGV)"


def test_backoff_doubles_while_runs_are_short_and_starts_over_after_a_long_run() -> None:
    history = CrashHistory()
    delays = [history.record(now, 60.0, -signal.SIGKILL) for now in (100.0, 200.0)]
    assert delays == [BACKOFF_BASE_SECS, BACKOFF_BASE_SECS]  # long runs: no growth
    delays = [history.record(300.0 + n * 70, 1.0, 1) for n in range(8)]
    assert delays[:4] == [BACKOFF_BASE_SECS * 2**n for n in range(4)]
    assert delays[-1] == BACKOFF_MAX_SECS
    assert history.record(1000.0, 30.0, 1) == BACKOFF_BASE_SECS


def test_a_sigkilled_service_is_restarted_at_once() -> None:
    history = CrashHistory()
    assert {history.record(float(n), 0.5, -signal.SIGKILL) for n in range(20)} == {
        BACKOFF_BASE_SECS
    }


def test_sigkill_never_counts_toward_giving_up() -> None:
    history = CrashHistory()
    assert all(history.record(float(n), 0.5, -signal.SIGKILL) is not None for n in range(50))


def test_repeated_fast_crashes_give_up_within_the_window_only() -> None:
    history = CrashHistory()
    results = [history.record(float(n), 0.5, 1) for n in range(GIVE_UP_CRASHES)]
    assert all(r is not None for r in results[:-1]) and results[-1] is None

    spread = CrashHistory()  # the same crashes spread over more than a minute
    assert all(spread.record(n * 20.0, 0.5, 1) is not None for n in range(10))

    slow = CrashHistory()  # each run lasted: not a crash loop
    assert all(slow.record(n * 11.0, 10.5, 1) is not None for n in range(10))
