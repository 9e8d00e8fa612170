"""The fork server of ``mailrs up`` (``mailrs.cli.zygote``): what a forked service starts as.

Each check runs in a fresh interpreter: forking the test process would copy pytest's
threads and exit handlers into the child.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

SERVICE = '''
import json, os, signal, sys, time

def main():
    """Report what the child looks like, then exit 3."""
    print(json.dumps({
        "argv": sys.argv,
        "session_leader": os.getsid(0) == os.getpid(),
        "sigterm_default": signal.getsignal(signal.SIGTERM) == signal.SIG_DFL,
        "stdin": sys.stdin.read(),
        "fds": sorted(int(fd) for fd in os.listdir("/proc/self/fd")),
        "title": open("/proc/self/cmdline", "rb").read().split(b"\\0")[0].decode(),
    }), flush=True)
    return 3

def sleep():
    """Wait to be stopped."""
    time.sleep(60)
'''


def run(tmp_path: Path, body: str) -> dict[str, object]:
    """Run ``body`` in a fresh interpreter with the service module importable; its JSON."""
    (tmp_path / "fake_service.py").write_text(SERVICE)
    script = "import json, sys, signal, time\nfrom pathlib import Path\n"
    script += "from mailrs.cli import zygote\n" + textwrap.dedent(body)
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_forked_service_runs_its_entry_as_a_fresh_process_would(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        """
        extra = open("fake_service.py")  # an fd the child must not keep
        log = Path("service.log")
        child = zygote.fork_service(
            "fake_service:main", ["smtpd", "--config", "x.toml"], log, "smtpd --config x.toml"
        )
        code = child.wait(timeout=30)
        print(json.dumps({"code": code, "log": log.read_text()}))
        """,
    )
    assert result["code"] == 3
    seen = json.loads(str(result["log"]).strip().splitlines()[-1])
    assert seen["argv"] == ["smtpd", "--config", "x.toml"]
    assert seen["session_leader"] and seen["sigterm_default"]
    assert seen["stdin"] == ""
    assert seen["fds"] == [0, 1, 2, 3]  # 3: the listing's own descriptor
    assert seen["title"].startswith("smtpd --config x.toml")


def test_sigterm_ends_a_forked_service_and_poll_reports_the_signal(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        """
        child = zygote.fork_service("fake_service:sleep", ["sleepy"], Path("s.log"), "sleepy")
        time.sleep(0.5)
        before = child.poll()
        child.send_signal(signal.SIGTERM)
        print(json.dumps({"before": before, "code": child.wait(timeout=30)}))
        """,
    )
    assert result == {"before": None, "code": -15}


def test_an_entry_that_cannot_be_imported_exits_with_a_traceback(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        """
        log = Path("bad.log")
        child = zygote.fork_service("no_such_module:main", ["bad"], log, "bad")
        print(json.dumps({"code": child.wait(timeout=30), "log": log.read_text()}))
        """,
    )
    assert result["code"] == 70
    assert "ModuleNotFoundError" in str(result["log"])


def test_the_preload_leaves_no_thread_and_no_open_file(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        """
        import os, gc
        before = sorted(os.listdir("/proc/self/fd"))
        reason = zygote.preload()
        after = sorted(os.listdir("/proc/self/fd"))
        print(json.dumps({
            "reason": reason,
            "same_fds": before == after,
            "threads": len(os.listdir("/proc/self/task")),
            "frozen": gc.get_freeze_count() > 0,
            "models": "mailrs.db.models" in sys.modules,
            "immortal": sys.getrefcount(sys.modules["mailrs.db.models"].User) >= 2**31,
        }))
        """,
    )
    assert result == {
        "reason": None,
        "same_fds": True,
        "threads": 1,
        "frozen": True,
        "models": True,
        "immortal": True,
    }


def test_immortal_objects_keep_their_count_and_later_ones_are_freed(tmp_path: Path) -> None:
    """``mailrs.cli.immortal``: what existed is immortal (a new reference writes nothing),
    what is made afterwards is counted and freed as usual."""
    result = run(
        tmp_path,
        """
        import gc, weakref
        from mailrs.cli import immortal

        class Thing:
            pass

        old = {"nested": [Thing()]}
        marked = immortal.immortalize()
        before = sys.getrefcount(old["nested"][0])
        extra = [old["nested"][0]] * 10
        after = sys.getrefcount(old["nested"][0])
        freed = []
        new = Thing()
        weakref.finalize(new, freed.append, True)
        del new
        print(json.dumps({
            "marked": marked > 1000,
            "immortal": before >= 2**31 and before == after,
            "freed": freed == [True],
        }))
        """,
    )
    assert result == {"marked": True, "immortal": True, "freed": True}
