"""Each service imports only what it uses: the import diet that keeps ``mailrs up`` small.

Every check runs in a fresh interpreter (``sys.modules`` of this test process holds
everything) and lists the top-level packages the entry module loaded. Libraries named
here cost several MiB each and belong to other services or to rarely used features,
which import them when they run (``tests/integration/test_supervisor.py`` guards the
supervisor the same way).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from support.config import unused_port, write_config

REPO = Path(__file__).resolve().parents[2]


def loaded_after(code: str) -> set[str]:
    """The modules a fresh interpreter holds after running ``code``."""
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def found(modules: set[str], packages: tuple[str, ...]) -> list[str]:
    """The packages of ``packages`` that ``modules`` loaded (a submodule counts)."""
    tops = {name.split(".")[0] for name in modules} | modules
    return sorted(p for p in packages if p in tops)


WEB_STACK = ("flask", "werkzeug", "jinja2", "gevent", "gunicorn", "wtforms", "web")
# What the web app imports on the first request that needs it, not at start-up: PyJWT
# (API tokens), nh3 (a message shown), flask-sock with simple_websocket, wsproto and h11
# and the assistant's engines (a chat socket), plistlib and the PKCS#7 signer (client
# set-up), the DMARC reports (their admin page).
WEB_ON_FIRST_USE = (
    "jwt",
    "nh3",
    "flask_sock",
    "simple_websocket",
    "wsproto",
    "h11",
    "plistlib",
    "web.chat_socket",
    "web.assistant.engine",
    "web.assistant.llm",
    "web.assistant.actions",
    "mailrs.accounts.client_setup",
    "mailrs.accounts.profile_signing",
    "mailrs.inbound.dmarc_reports",
)
ONLY_WHEN_USED = ("alembic", "dateparser", "vobject", "xmlschema", "prompt_toolkit", "flower")


@pytest.mark.parametrize(
    ("entry", "code", "absent"),
    [
        (
            "smtpd",
            "import smtpd.server",
            (*WEB_STACK, *ONLY_WHEN_USED, "workers", "imapd", "cryptography", "dkim", "dns"),
        ),
        (
            "imapd",
            "import imapd.server",
            (
                *WEB_STACK,
                *ONLY_WHEN_USED,
                "workers",
                "smtpd",
                "celery",
                "kombu",
                "limits",
                "cryptography",
                "dkim",
                "dns",
                "aiosmtpd",
            ),
        ),
        (
            "web",
            "from web import create_app",
            (
                *ONLY_WHEN_USED,
                *WEB_ON_FIRST_USE,
                "workers",
                "smtpd",
                "imapd",
                "celery",
                "kombu",
                "limits",
                "dns",
                "dkim",
                "aiosmtpd",
            ),
        ),
        (
            "worker",
            "import mailrs.celery, workers.pipeline, mailrs.cli.main",
            (*WEB_STACK, *ONLY_WHEN_USED, "smtpd", "imapd", "aiosmtpd"),
        ),
    ],
)
def test_a_service_entry_loads_no_library_it_does_not_use(
    entry: str, code: str, absent: tuple[str, ...]
) -> None:
    """A service's entry module loads none of the other services' libraries."""
    modules = loaded_after(code)
    assert f"{entry}.server" in modules or entry in ("web", "worker")
    assert found(modules, absent) == [], entry


def test_the_worker_command_skips_the_celery_program() -> None:
    """``mailrs worker`` runs Celery's worker command itself: ``celery.bin.celery`` would
    load every subcommand and plugin (Flower, click-repl with prompt_toolkit, Tornado)."""
    code = (
        "from mailrs.celery import app\n"
        "from mailrs.cli.celery_worker import run_celery_worker\n"
        "assert run_celery_worker(app, ['--help']) == 0"
    )
    modules = loaded_after(code)
    assert "celery.bin.worker" in modules  # the command really ran
    assert found(modules, ("celery.bin.celery", "prompt_toolkit", "flower", "tornado")) == []


def test_the_built_web_app_leaves_first_use_libraries_unloaded(tmp_path: Path) -> None:
    """``create_app()`` (what gunicorn loads before its first request) imports none of
    ``WEB_ON_FIRST_USE``; the first chat socket's view brings flask-sock and the assistant."""
    config = write_config(tmp_path, port=unused_port)
    code = (
        "from web import create_app\n"
        f"app = create_app({{'MAILRS_CONFIG': {str(config)!r}}})\n"
        "rule = next(r for r in app.url_map.iter_rules() if r.rule == '/ws/chat')\n"
        "assert rule.websocket and rule.endpoint == 'chat_socket'"
    )
    assert found(loaded_after(code), WEB_ON_FIRST_USE) == []
    opened = loaded_after(f"{code}\nfrom web.chat import socket_view\nsocket_view()")
    assert found(opened, ("flask_sock", "simple_websocket", "web.chat_socket")) == [
        "flask_sock",
        "simple_websocket",
        "web.chat_socket",
    ]
