"""Dovecot's imaptest as a load generator: its stress, ``logout=0`` and login modes.

imaptest is not packaged and not in this repository; README ("Dovecot's imaptest") says
how to build it. ``bench/imap_load.py --imaptest PATH`` uses this module to run each
mode against mailrs and Dovecot in turn and print the totals per column and the ratios.
Each run is imaptest's own state-tracking client: its "Error:" lines are counted.
"""

from __future__ import annotations

import os
import random
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from imap_bench import PASSWORD, USER, make_message

# imaptest's four-letter column names, by the name printed here.
COLUMNS = {
    "LOGIN": "Logi",
    "SELECT": "Sele",
    "FETCH": "Fetc",
    "FETCH2": "Fet2",
    "STORE": "Stor",
    "EXPUNGE": "Expu",
    "APPEND": "Appe",
}
# mode name -> extra imaptest arguments ("-" zeroes every state but LOGIN/SELECT/LOGOUT).
MODES = {
    "stress": [],
    "logout=0": ["logout=0"],
    "login": ["-", "select=0"],
}


@dataclass
class ImaptestRun:
    """The totals of one imaptest run: per column, plus its error lines and CPU/PSS."""

    totals: dict[str, int]
    errors: list[str] = field(default_factory=list)
    cpu_ms: float = 0.0
    pss: float = 0.0


def write_mbox(path: Path, count: int = 150) -> Path:
    """An mbox of ``count`` generated messages, each with its own Message-ID.

    imaptest tracks messages by Message-ID, so no two may share one.
    """
    rng = random.Random(4467)
    with path.open("wb") as out:
        for n in range(count):
            data = make_message(rng, 900_000 + n).replace(b"\r\n", b"\n")
            data = data.replace(b"\nFrom ", b"\n>From ")
            out.write(b"From bench@example.org Mon Mar  4 10:00:00 2024\n" + data + b"\n")
    return path


def parse_totals(output: str) -> dict[str, int]:
    """The column totals after imaptest's "Totals:" line (empty if it printed none)."""
    lines = output.split("Totals:", 1)[-1].splitlines() if "Totals:" in output else []
    header = next((line.split() for line in lines if line.startswith("Logi")), None)
    numbers = [line.split() for line in lines if re.fullmatch(r"\s*(\d+\s+)*\d+\s*", line or "x")]
    if header is None or not numbers:
        return {}
    values = numbers[-1]
    return {name: int(value) for name, value in zip(header, values, strict=False)}


def run_imaptest(
    binary: Path,
    port: int,
    mode: str,
    mbox: Path,
    clients: int,
    seconds: float,
    measure: Callable[[Callable[[], str]], tuple[str, float, float]],
) -> ImaptestRun:
    """One imaptest run of ``mode``; ``measure`` wraps it to add server CPU ms and PSS."""
    args = [str(binary), "host=127.0.0.1", f"port={port}", f"user={USER}", f"pass={PASSWORD}"]
    args += [f"mbox={mbox}", f"clients={clients}", f"secs={int(seconds)}", *MODES[mode]]
    env = dict(os.environ, LD_LIBRARY_PATH="/usr/lib/dovecot")

    def call() -> str:
        done = subprocess.run(
            args,
            env=env,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=seconds + 120,
        )
        return done.stdout + done.stderr

    output, cpu_ms, pss = measure(call)
    errors = [line for line in output.splitlines() if line.startswith("Error:")]
    return ImaptestRun(parse_totals(output), errors, cpu_ms, pss)


def print_table(mode: str, ours: ImaptestRun, theirs: ImaptestRun) -> None:
    """Totals per column on both servers and the ratio mailrs / Dovecot."""
    print(f"\nimaptest {mode}: totals")
    names = list(COLUMNS)
    print("| server  | " + " | ".join(f"{n:>7}" for n in names) + " |")
    print("|---------|" + "|".join("-" * 9 for _ in names) + "|")
    for label, run in (("mailrs", ours), ("dovecot", theirs)):
        cells = [f"{run.totals.get(COLUMNS[n], 0):7d}" for n in names]
        print(f"| {label:7} | " + " | ".join(cells) + " |")
    ratios = []
    for n in names:
        a, b = ours.totals.get(COLUMNS[n], 0), theirs.totals.get(COLUMNS[n], 0)
        ratios.append(f"{a / b:7.2f}" if b else f"{'-':>7}")
    print("| ratio   | " + " | ".join(ratios) + " |")
    for label, run in (("mailrs", ours), ("dovecot", theirs)):
        commands = sum(run.totals.values())
        print(
            f"{label}: {run.cpu_ms:.2f} CPU ms/command ({commands} commands), peak PSS "
            f"{run.pss:.1f} MiB, {len(run.errors)} imaptest errors"
            + (f" (first: {run.errors[0]})" if run.errors else "")
        )
