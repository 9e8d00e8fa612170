"""Spool hygiene: a spool file that cannot be removed keeps no other file in its batch, and
the sweeper collects orphans (finished or unknown messages, unfinished writes), which
`mailrs queue orphans` shows."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import select
from support.config import provision
from support.pipeline import add_config
from support.processes import mailrs_argv, python_m, running, service_env, wait_until
from support.selfheal import delivered_ids, send
from support.services import require_tool

from mailrs.config import load_settings, parse_hostport
from mailrs.db.engine import Database
from mailrs.db.models import Message
from mailrs.queue.spool import new_queue_id


def _queue_cli(config: Path, *args: str) -> str:
    result = subprocess.run(
        mailrs_argv("queue", *args, "--config", str(config)),
        env=service_env(config),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.slow
def test_undeletable_spool_file_leaks_nothing_else_and_orphans_are_collected(
    tmp_path: Path,
) -> None:
    chattr = require_tool("chattr")
    config = provision(tmp_path, users=("alice@example.test",))
    # A grace far longer than the test: the sweeper collects a file only once the test has
    # aged it (on a loaded machine the steps below may take well over ten seconds).
    add_config(config, "celery", sweep_grace_secs=600, sweep_interval_secs=1)
    settings = load_settings(config, environ={})
    smtp = parse_hostport(settings.smtp.listen_addr)
    queue_dir = settings.spool_path / "queue"
    env = service_env(config)
    pinned: list[Path] = []
    try:
        with running(python_m("smtpd", "--config", str(config)), "SMTP server listening", env=env):
            for n in range(6):
                assert send(smtp, f"m{n}@spool.test") == "250"
            files = sorted(queue_dir.iterdir())
            assert len(files) == 6
            pinned = [files[1], files[3]]  # removing these will fail (EPERM, even for root)
            for path in pinned:
                subprocess.run([chattr, "+i", str(path)], check=True)

            with running(mailrs_argv("worker", "--config", str(config)), "ready.", env=env) as w:
                assert wait_until(lambda: len(delivered_ids(settings)) == 6, timeout=60)
                db = Database.from_settings(settings)

                def all_finished() -> bool:
                    with db.session() as session:
                        return all(session.scalars(select(Message.finished_at)).all())

                try:
                    assert wait_until(all_finished, timeout=30)
                finally:
                    db.dispose()
                # Every other file of the batch is gone; only the undeletable ones stay.
                assert wait_until(lambda: sorted(queue_dir.iterdir()) == pinned, timeout=30)
                assert "cannot remove the spool file" in w.output

                stray = queue_dir / f"{new_queue_id()}.eml"
                stray.write_bytes(b"Subject: nobody's\r\n\r\n")
                leftover = settings.spool_path / "tmp" / new_queue_id()
                leftover.write_bytes(b"half a message")
                listed = _queue_cli(config, "orphans")
                print(listed)
                lines = listed.splitlines()
                for path in pinned:
                    (line,) = [x for x in lines if x.startswith(path.stem)]
                    assert "finished" in line
                (line,) = [x for x in lines if x.startswith(stray.stem)]
                assert "no message" in line
                (line,) = [x for x in lines if x.startswith(leftover.name)]
                assert "unfinished write" in line
                assert lines[-1] == "4 orphaned spool file(s)"
                assert "no orphaned" in _queue_cli(config, "orphans", "--grace", "3600")

                for path in pinned:
                    subprocess.run([chattr, "-i", str(path)], check=True)
                pinned = []
                # The sweeper removes them once they are older than its grace period.
                old = time.time() - 3600
                for path in [*queue_dir.iterdir(), leftover]:
                    os.utime(path, (old, old))
                assert wait_until(
                    lambda: not any(queue_dir.iterdir()) and not leftover.exists(), timeout=60
                ), sorted(queue_dir.iterdir())
                # The sweeper logs after it has removed the files: wait for the line too.
                assert wait_until(lambda: "orphaned spool file" in w.output, timeout=30)
                assert "removed" in w.output
        assert _queue_cli(config, "orphans").strip() == "no orphaned spool files"
    finally:
        for path in pinned:
            subprocess.run([chattr, "-i", str(path)], check=False)
    assert delivered_ids(settings) == {f"m{n}@spool.test": 1 for n in range(6)}


@pytest.mark.slow
def test_queue_orphans_remove_now(tmp_path: Path) -> None:
    config = provision(tmp_path)
    settings = load_settings(config, environ={})
    queue_dir = settings.spool_path / "queue"
    queue_dir.mkdir(parents=True, exist_ok=True)
    stray = queue_dir / f"{new_queue_id()}.eml"
    stray.write_bytes(b"Subject: stray\r\n\r\n")
    out = _queue_cli(config, "orphans", "--remove")
    assert f"{stray.stem}  no message" in out and "removed" in out
    assert out.splitlines()[-1] == "1 orphaned spool file(s), 1 removed"
    assert not stray.exists()
