"""``python -m mailrs.cli.supervise PLAN``: the long-lived process of ``mailrs up``.

``mailrs up`` checks the config, migrates the database, writes the plan
(``mailrs.cli.plan``) and replaces itself with this module (same pid), which imports
only the supervisor: no click, no config code, none of the services' libraries.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from mailrs.cli import zygote
from mailrs.cli.supervisor import Interrupted, StartupError, Supervisor, services_from_plan


def interpreter_options() -> list[str]:
    """The options this interpreter was started with (``-X importtime``, ``-O``, ``-W``),
    to start the next one the same way."""
    options = [f"-W{w}" for w in sys.warnoptions]
    options += [
        f"-X{key}" if value is True else f"-X{key}={value}" for key, value in sys._xoptions.items()
    ]
    options += ["-O"] * sys.flags.optimize
    options += ["-E"] if sys.flags.ignore_environment else []
    options += ["-s"] if sys.flags.no_user_site else []
    return options


def exec_supervisor(plan_path: Path) -> None:
    """Replace this process with the supervisor of ``plan_path`` (never returns)."""
    sys.stdout.flush()
    sys.stderr.flush()
    argv = [sys.executable, *interpreter_options(), "-m", "mailrs.cli.supervise", str(plan_path)]
    os.execv(sys.executable, argv)


def start_fork_server() -> bool:
    """Load the services' common libraries here (``mailrs.cli.zygote``); False: exec each."""
    if not zygote.enabled():
        return False
    reason = zygote.preload()
    if reason is not None:
        print(f"mailrs: starting each service in its own interpreter ({reason})", flush=True)
        return False
    return True


def main(argv: list[str]) -> int:
    """Start every service of the plan and watch them; the exit status of ``mailrs up``."""
    plan = json.loads(Path(argv[0]).read_text())
    supervisor = Supervisor(
        services_from_plan(plan),
        Path(plan["log_dir"]),
        dict(os.environ),
        state_path=Path(plan["state_path"]),
    )
    supervisor.catch_signals()
    supervisor.fork_server = start_fork_server()
    supervisor.next_stages = [zygote.preload_more]
    try:
        supervisor.check_ports()
        supervisor.start()
    except Interrupted:
        print("mailrs: stopping", flush=True)
        supervisor.stop()
        return 0
    except StartupError as exc:
        supervisor.run.state = "failed"
        supervisor.stop()
        print(f"Error: {exc}", file=sys.stderr, flush=True)
        return 1
    for line in plan["banner"]:
        print(line)
    print("mailrs is up; press Ctrl-C to stop.", flush=True)
    return supervisor.watch()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
