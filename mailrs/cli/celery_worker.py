"""Run Celery's ``worker`` command without the rest of the ``celery`` program.

``app.worker_main`` goes through ``celery.bin.celery``, which imports every Celery
subcommand and every installed plugin (Flower with Tornado and redis-py, click-repl with
prompt_toolkit, ...): ~23 MiB in the worker, copied into its pool children. This calls
the same click command, ``celery.bin.worker.worker``, with the context object the
``celery`` group would have given it, so every worker option still works.
"""

from __future__ import annotations

import gc
from typing import Any

from mailrs.cli.immortal import immortalize


def freeze_before_fork(**_: Any) -> None:
    """Before the prefork pool forks a child: move every object alive now out of the
    collector's reach, so the child's collections never write to (and copy) the pages
    it shares with this parent; before the first, also make them immortal
    (``mailrs.cli.immortal``), so the child's references leave those pages alone."""
    global _immortal
    if not _immortal:
        _immortal = True
        immortalize()
    gc.freeze()


_immortal = False


def run_celery_worker(app: Any, argv: list[str]) -> int:
    """Run ``celery worker ARGV`` for ``app`` in this process; returns its exit status."""
    from celery.bin.base import CLIContext
    from celery.bin.worker import worker
    from celery.signals import worker_before_create_process
    from click.exceptions import Exit

    worker_before_create_process.connect(freeze_before_fork, weak=False)
    context = CLIContext(app=app, no_color=False, workdir=None, quiet=False)
    try:
        status = worker.main(
            args=argv, prog_name="mailrs worker", obj=context, standalone_mode=False
        )
    except Exit as done:  # click versions that let ctx.exit() through
        status = done.exit_code
    return status if isinstance(status, int) else 0
