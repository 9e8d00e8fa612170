"""Helpers for pipeline tests: run the stages in-process in the order the tasks would,
and add keys to a test config."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mailrs.queue.canvas import BOUNCE, DELIVER, RELAY, VALIDATE, Step
from workers.bounce import bounce_message
from workers.deliver import deliver_message
from workers.relay import relay_message
from workers.route import route_message
from workers.spam import spam_check_message
from workers.validate import validate_message


def drive(queue_id: str, limit: int = 100) -> list[Step]:
    """Run a message's pipeline and everything it sends (DSNs too); returns the steps run."""
    todo: list[Step] = [(VALIDATE, queue_id)]
    done: list[Step] = []
    while todo and len(done) < limit:
        step = todo.pop(0)
        done.append(step)
        name, qid = step
        if name == VALIDATE:
            validate_message(qid)
            spam_check_message(qid)
            todo += route_message(qid)
        elif name == DELIVER:
            todo += deliver_message(qid)
        elif name == RELAY:
            todo += relay_message(qid)
        elif name == BOUNCE:
            todo += bounce_message(qid)
    assert not todo, f"pipeline did not settle: {todo}"
    return done


def add_config(config: Path, section: str, **keys: Any) -> None:
    """Set these keys in ``[section]`` of a test config (TOML via JSON literals)."""
    new = [f"{k} = {json.dumps(v)}" for k, v in keys.items()]
    lines = config.read_text().splitlines()
    header = f"[{section}]"
    if header not in lines:
        config.write_text("\n".join([*lines, header, *new]) + "\n")
        return
    start = lines.index(header) + 1
    end = next((i for i in range(start, len(lines)) if lines[i].startswith("[")), len(lines))
    kept = [line for line in lines[start:end] if line.split("=", 1)[0].strip() not in keys]
    lines[start:end] = [*new, *kept]
    config.write_text("\n".join(lines) + "\n")
